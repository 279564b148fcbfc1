"""The alert sweeper's reading of what the relay has published, when the relay acknowledges
its last pending entry between the sweeper's two reads (a worker crashed on it in a bench)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from alerts.relay import GROUP
from alerts.retention import AlertSweeper
from alerts.store import FEED_KEY
from core.clock import FakeClock

from .pipeline_kit import T0


class AckedInBetween:
    """XINFO GROUPS still counts one pending entry; XPENDING then finds none."""

    async def xinfo_groups(self, key: str) -> list[dict[str, Any]]:
        assert key == FEED_KEY
        return [{"name": GROUP.encode(), "last-delivered-id": b"42-0", "pending": 1}]

    async def xpending(self, key: str, group: str) -> dict[str, Any]:
        return {"pending": 0, "min": None, "max": None, "consumers": []}


async def test_an_entry_acknowledged_between_the_two_reads_counts_as_relayed() -> None:
    sweeper = AlertSweeper(AckedInBetween(), FakeClock(T0), retention=timedelta(days=1))  # type: ignore[arg-type]
    assert await sweeper.relayed_seq() == 42
