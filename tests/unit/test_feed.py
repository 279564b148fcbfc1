"""The live feed's fan-out and per-connection loop: a client that does not read is dropped
without slowing the others, a dropped client is told to resume, and idle connections get
heartbeats carrying the last sequence number."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson

from api.feed import Broadcaster, FeedEntry
from api.routes.ws import CLOSE_SLOW, _live


def entry(seq: int, departments: tuple[str, ...] = ("samr", "qianhai-authority")) -> FeedEntry:
    alert = {"alert_id": f"A{seq}", "departments": list(departments)}
    return FeedEntry(seq, "created", alert, orjson.dumps(alert), receivers=departments)


class FakeSocket:
    """Records what the server sends; never sends anything itself (an idle client)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed: int | None = None

    async def send_text(self, text: str) -> None:
        self.sent.append(orjson.loads(text))

    async def receive_text(self) -> str:
        await asyncio.Event().wait()  # the client never writes
        return ""

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = code


def test_a_client_that_does_not_read_is_dropped_and_the_rest_get_everything() -> None:
    broadcaster = Broadcaster(None, queue_size=5)  # type: ignore[arg-type]  # no Redis needed
    slow = broadcaster.subscribe("samr")
    reader = broadcaster.subscribe("samr")
    other_department = broadcaster.subscribe("tax")
    got: list[int] = []
    for seq in range(1, 21):
        broadcaster._fan_out(entry(seq))
        while not reader.queue.empty():  # this one keeps up
            got.append(reader.queue.get_nowait().seq)
    assert got == list(range(1, 21))
    assert slow.dropped.is_set()
    assert broadcaster.clients == 2  # the slow one is gone, the others stay
    assert other_department.queue.empty()  # routed to samr only
    assert not other_department.dropped.is_set()


async def test_a_dropped_client_is_closed_and_told_to_resume() -> None:
    socket, queue, dropped = FakeSocket(), asyncio.Queue[FeedEntry](), asyncio.Event()
    dropped.set()
    await asyncio.wait_for(_live(socket, queue, dropped, 7, 5.0), timeout=2)  # type: ignore[arg-type]
    assert socket.closed == CLOSE_SLOW


async def test_an_idle_connection_gets_heartbeats_and_then_alerts_in_order() -> None:
    socket, queue, dropped = FakeSocket(), asyncio.Queue[FeedEntry](), asyncio.Event()
    live = asyncio.create_task(_live(socket, queue, dropped, 7, 0.05))  # type: ignore[arg-type]
    await asyncio.sleep(0.18)
    beats = [m for m in socket.sent if m["type"] == "heartbeat"]
    assert len(beats) >= 2
    assert all(m["seq"] == 7 for m in beats)
    for seq in (6, 8, 9):  # 6 was already sent from the replay buffer
        queue.put_nowait(entry(seq))
    await asyncio.sleep(0.05)
    live.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await live
    alerts = [m["seq"] for m in socket.sent if m["type"] == "alert"]
    assert alerts == [8, 9]
