"""The live feed: one task per API process tails the Redis alert feed and fans each entry
out to the connected clients' bounded queues.

A client whose queue is full is dropped (it reconnects with ``?since=`` and misses
nothing), so a client that does not read never slows the others. A reconnecting client
first gets what it missed from the feed (the bounded replay buffer), then the live tail.

:meth:`Broadcaster.run` reads until Redis fails and then raises; the API runs it under
:func:`core.supervise.supervise`, which starts it again with backoff, and it resumes after
the last entry it fanned out. :attr:`Broadcaster.up` (``/readyz``) is false meanwhile. An
entry that cannot be read is logged and skipped: restarting would meet it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.exceptions import RedisError

from alerts import feed_codec
from alerts.feed import AlertFeed
from alerts.routing import receivers_of
from alerts.subscriptions import SubscriptionCache, SubscriptionsByDepartment
from core.errors import StoreError
from core.telemetry import REDIS_ERRORS, WS_DROPPED, get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    seq: int
    change: str
    alert: dict[str, Any]
    raw_alert: bytes
    # The owner departments that receive it after their subscriptions (all owners when
    # none of them subscribes to anything narrower).
    receivers: tuple[str, ...] = ()

    def visible_to(self, department: str) -> bool:
        return department in self.receivers

    def message(self) -> bytes:
        return b'{"type":"alert","seq":%d,"change":"%s","alert":%s}' % (
            self.seq,
            self.change.encode(),
            self.raw_alert,
        )


def _entry(
    entry_id: bytes | str, fields: dict[bytes, bytes], subscriptions: SubscriptionsByDepartment
) -> FeedEntry:
    eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    raw = feed_codec.decode(fields[b"alert"])
    alert = orjson.loads(raw)
    return FeedEntry(
        seq=int(eid.split("-", 1)[0]),
        change=fields.get(b"change", b"").decode(),
        alert=alert,
        raw_alert=raw,
        receivers=tuple(receivers_of(raw, alert.get("departments", []), subscriptions)),
    )


@dataclass(eq=False)
class Subscriber:
    department: str
    queue: asyncio.Queue[FeedEntry]
    dropped: asyncio.Event = field(default_factory=asyncio.Event)


def _seq(entry_id: bytes | str) -> int:
    eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(eid.split("-", 1)[0])


class Broadcaster:
    def __init__(
        self,
        feed: AlertFeed,
        *,
        queue_size: int = 1000,
        block_ms: int = 1000,
        subscriptions: SubscriptionCache | None = None,
    ) -> None:
        self._feed = feed
        self._subscriptions = subscriptions
        self._queue_size = queue_size
        self._block_ms = block_ms
        self._subscribers: set[Subscriber] = set()
        # The last entry fanned out; None until the first run has read the feed's end.
        self.last_seq: int | None = None
        # The oldest point a client went live from before the tail first read the feed.
        self._start_floor: int | None = None
        self._up = False

    @property
    def up(self) -> bool:
        """Whether the tail is running and its last read of the feed succeeded."""
        return self._up

    @property
    def clients(self) -> int:
        return len(self._subscribers)

    def subscribe(self, department: str) -> Subscriber:
        sub = Subscriber(department, asyncio.Queue(self._queue_size))
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    def hold_from(self, seq: int) -> None:
        """A client goes live after ``seq``: a tail that has not yet read the feed (Redis
        was down when the API started) starts there at the latest, not at the feed's end."""
        if self.last_seq is None:
            floor = self._start_floor
            self._start_floor = seq if floor is None else min(floor, seq)

    async def backlog(self, since: int) -> AsyncIterator[FeedEntry]:
        """Entries after ``since`` still in the replay buffer, oldest first."""
        start = f"({since}-0"
        subs = await self._subs()
        while True:
            rows = await self._feed.after(start, 500)
            for entry_id, fields in rows:
                yield _entry(entry_id, fields, subs)
            if len(rows) < 500:
                return
            last = rows[-1][0]
            start = "(" + (last.decode() if isinstance(last, bytes) else last)

    async def oldest_seq(self) -> int | None:
        first = await self._feed.first()
        return _seq(first[0]) if first else None

    async def current_seq(self) -> int:
        last = await self._feed.last()
        return _seq(last[0]) if last else 0

    async def run(self) -> None:
        """Tail the feed, fanning entries out, until Redis fails (then raise: the caller
        restarts it, and it resumes after :attr:`last_seq`)."""
        try:
            if self.last_seq is None:
                end = await self.current_seq()
                floor = self._start_floor
                self.last_seq = end if floor is None else min(end, floor)
            while True:
                rows = await self._feed.wait_after(f"{self.last_seq}-0", 500, self._block_ms)
                self._up = True
                if rows:
                    await self._fan_out_rows(rows)
        except RedisError:
            REDIS_ERRORS.labels("feed").inc()
            raise
        finally:
            self._up = False

    async def _fan_out_rows(self, rows: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        subs = await self._subs()
        for entry_id, fields in rows:
            seq = _seq(entry_id)
            try:
                entry = _entry(entry_id, fields, subs)
            except (KeyError, ValueError, StoreError) as exc:  # orjson's errors are ValueErrors
                log.error("unreadable feed entry skipped", seq=seq, error=repr(exc)[:200])
            else:
                self._fan_out(entry)
            self.last_seq = seq

    async def _subs(self) -> SubscriptionsByDepartment:
        return await self._subscriptions.current() if self._subscriptions else {}

    def _fan_out(self, entry: FeedEntry) -> None:
        for sub in list(self._subscribers):
            if not entry.visible_to(sub.department):
                continue
            try:
                sub.queue.put_nowait(entry)
            except asyncio.QueueFull:
                self._subscribers.discard(sub)
                sub.dropped.set()
                WS_DROPPED.labels("slow").inc()
