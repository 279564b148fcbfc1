"""The live feed's fan-out and per-connection loop: a client that does not read is dropped
without slowing the others, a dropped client is told to resume, and idle connections get
heartbeats carrying the last sequence number."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from redis.exceptions import ConnectionError as RedisConnectionError

from alerts import feed_codec
from alerts.feed import AlertFeed
from alerts.store import FEED_KEY
from api.feed import Broadcaster, FeedEntry
from api.routes.ws import CLOSE_SLOW, _live
from core.supervise import supervise


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


class RestartingRedis:
    """An alert feed in memory whose next read can be made to fail, as a Redis restart
    does; records where each read started."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, dict[bytes, bytes]]] = []
        self.reads: list[str] = []
        self.fail_next = False

    def add(self, seq: int, fields: dict[bytes, bytes] | None = None) -> None:
        alert = {"alert_id": f"A{seq}", "departments": ["samr"]}
        self.rows.append((seq, fields or {b"alert": orjson.dumps(alert), b"change": b"created"}))

    async def xrevrange(self, *_: Any, **__: Any) -> list[Any]:
        return [(f"{s}-0".encode(), f) for s, f in self.rows[-1:]]

    async def xread(self, streams: dict[str, str], count: int, block: int) -> list[Any]:
        start = streams[FEED_KEY]
        self.reads.append(start)
        if self.fail_next:
            self.fail_next = False
            raise RedisConnectionError("Connection closed by server.")
        after = int(start.split("-", 1)[0])
        rows = [(f"{s}-0".encode(), f) for s, f in self.rows if s > after][:count]
        if not rows:
            await asyncio.sleep(0.005)
            return []
        return [(FEED_KEY.encode(), rows)]


async def _until_up(broadcaster: Broadcaster) -> None:
    for _ in range(5000):
        if broadcaster.up:
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the tail never read the feed")


async def _received(sub: Any, n: int) -> list[int]:
    async with asyncio.timeout(5):
        return [(await sub.queue.get()).seq for _ in range(n)]


async def test_the_feed_is_restarted_after_a_redis_failure_and_resumes_from_its_last_seq() -> None:
    redis = RestartingRedis()
    redis.add(1)  # already in the feed when the API starts: not sent again
    broadcaster = Broadcaster(AlertFeed(redis), block_ms=5)  # type: ignore[arg-type]
    up_while_restarting: list[bool] = []

    async def pause(_: float) -> None:
        up_while_restarting.append(broadcaster.up)
        await asyncio.sleep(0.01)

    board = broadcaster.subscribe("samr")
    tail = asyncio.create_task(supervise("feed-tail", broadcaster.run, sleep=pause))
    try:
        await _until_up(broadcaster)
        redis.add(2)
        assert await _received(board, 1) == [2]
        assert broadcaster.up
        redis.fail_next = True
        redis.add(3)  # written while the tail is down: read after the restart
        redis.add(4)
        assert await _received(board, 2) == [3, 4]
        assert up_while_restarting == [False]
        after_failure = redis.reads[redis.reads.index("2-0") :]
        assert "1-0" not in after_failure  # resumed after 2, not from the feed's start
        assert "0-0" not in redis.reads
    finally:
        tail.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tail


async def test_an_unreadable_feed_entry_is_skipped_and_the_tail_goes_on() -> None:
    redis = RestartingRedis()
    broadcaster = Broadcaster(AlertFeed(redis), block_ms=5)  # type: ignore[arg-type]
    board = broadcaster.subscribe("samr")
    tail = asyncio.create_task(supervise("feed-tail", broadcaster.run))
    try:
        await _until_up(broadcaster)
        redis.add(1, {b"change": b"created"})  # no alert field
        redis.add(2, {b"alert": b"{not json", b"change": b"created"})
        redis.add(3, {b"alert": b"\x00zz in no known encoding", b"change": b"created"})
        alert = {"alert_id": "A4", "departments": ["samr"]}
        redis.add(4, {b"alert": feed_codec.encode(orjson.dumps(alert)), b"change": b"created"})
        redis.add(5)
        assert await _received(board, 2) == [4, 5]
        assert broadcaster.last_seq == 5
    finally:
        tail.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tail
