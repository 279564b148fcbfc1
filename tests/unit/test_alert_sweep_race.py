"""The alert sweep reads the relay's group in two calls (XINFO GROUPS, then XPENDING): when
the relay acknowledges its last pending entries in between, XPENDING answers no ``min``,
and the sweep must go on, not crash the worker (seen in a medium evaluation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.relay import GROUP
from alerts.retention import AlertSweeper
from core.clock import FakeClock


class AckedInBetween:
    """XINFO GROUPS still counts one pending entry; XPENDING, a moment later, none."""

    async def xinfo_groups(self, stream: str) -> list[dict[str, Any]]:
        return [{"name": GROUP.encode(), "pending": 1, "last-delivered-id": b"42-0"}]

    async def xpending(self, stream: str, group: str) -> dict[str, Any]:
        return {"pending": 0, "min": None, "max": None, "consumers": []}


async def test_pending_entries_acknowledged_between_the_two_reads_do_not_crash() -> None:
    sweeper = AlertSweeper(
        AckedInBetween(),  # type: ignore[arg-type]
        FakeClock(datetime(2026, 1, 1, tzinfo=UTC)),
        retention=timedelta(days=180),
    )
    assert await sweeper.relayed_seq() == 42
