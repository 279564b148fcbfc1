"""Tailing a Redis stream with a consumer group, at least once: the loop both relays run.

Every worker runs the same loop on the same group, so each entry is handled by one of them.
:meth:`GroupReader.step` reads a batch (entries a dead consumer left pending for
``claim_idle_ms`` first, looked for every tenth of that: :class:`ClaimPace`; else new
ones), hands it to the caller and acknowledges it only after the handler returned: a
handler that raises leaves the batch pending, and it is read again. :func:`relay_loop`
runs steps until ``stopping`` and survives what Redis and the broker do to it, and
:class:`GroupTail` is the two together: its user says only which group it reads, what one
batch becomes (:meth:`GroupTail.handle`) and its name:

- Redis refuses the read (``NOGROUP`` / ``UNBLOCKED``: the stream or its group is gone, a
  Redis restarted without its data): pause ``REFUSED_PAUSE_S``, recreate the group, go on;
- Redis or a store fails (:class:`~core.errors.StoreError`), or the broker is away
  (:class:`~core.errors.PublishError`): counted, pause ``RETRY_PAUSE_S``, try again.

The stream relays (:mod:`streams.relay`: stream to Kafka, the alerts' and the grades') and
the webhook scheduler's feed tail (:mod:`alerts.notify.deliveries`: feed to delivery queue)
are its users.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from core.errors import PublishError, StoreError
from core.telemetry import PUBLISH_ERRORS, REDIS_ERRORS, get_logger

log = get_logger(__name__)

Entry = tuple[bytes, dict[bytes, bytes]]  # stream entry id, fields
Handler = Callable[[Sequence[Entry]], Awaitable[object]]
Sleep = Callable[[float], Awaitable[None]]

RETRY_PAUSE_S = 1.0  # after a Redis, store or broker failure
REFUSED_PAUSE_S = 0.5  # after Redis refused the read, before recreating the group


@dataclass(frozen=True, slots=True)
class StreamGroup:
    """One consumer of a consumer group on a stream. ``start_id`` is where a new group
    starts: ``"0"`` the whole stream, ``"$"`` from now on."""

    stream: str
    group: str
    consumer: str
    start_id: str = "0"
    batch: int = 500
    block_ms: int = 1000
    claim_idle_ms: int = 30_000


class GroupReader:
    """Reads and acknowledges the entries of one :class:`StreamGroup`."""

    def __init__(self, redis: Redis, group: StreamGroup, *, name: str) -> None:
        self._redis, self.group, self.name = redis, group, name  # name: a bounded label
        self._claims = ClaimPace(group.claim_idle_ms)

    async def ensure_group(self) -> None:
        g = self.group
        try:
            await self._redis.xgroup_create(g.stream, g.group, id=g.start_id, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self) -> list[Entry]:
        """One batch: entries this consumer or a dead one left pending, else new ones."""
        g = self.group
        if self._claims.due():
            claimed: Any = await self._redis.xautoclaim(
                g.stream, g.group, g.consumer, min_idle_time=g.claim_idle_ms, count=g.batch
            )
            entries: list[Entry] = [e for e in claimed[1] if e[1]]
            self._claims.claimed(found=bool(entries))
            if entries:
                return entries
        reply: Any = await self._redis.xreadgroup(
            g.group, g.consumer, {g.stream: ">"}, count=g.batch, block=g.block_ms
        )
        return reply[0][1] if reply else []

    async def step(self, handle: Handler) -> list[Entry]:
        """Read one batch, hand it to ``handle``, acknowledge it; answers the batch. A batch
        the handler raised on is pending: the next read looks for pending entries first."""
        entries = await self.read()
        if entries:
            try:
                await handle(entries)
            except BaseException:
                self._claims.failed()
                raise
            await self._redis.xack(
                self.group.stream, self.group.group, *[entry_id for entry_id, _ in entries]
            )
        return entries


class ClaimPace:
    """When a :class:`GroupReader` looks for pending entries (``XAUTOCLAIM``) before reading
    new ones. Every read used to, which put a Redis round trip before every blocking read:
    an alert written while the relay was publishing waited for the publish, the ``XACK``
    *and* that claim. Entries become claimable only ``claim_idle_ms`` after they were read,
    so looking every tenth of that (and at once while claims find entries, and after a failed
    batch) takes them over at most 10% later than before.

    >>> t = [0.0]
    >>> pace = ClaimPace(claim_idle_ms=1000, clock=lambda: t[0])
    >>> pace.due(), pace.claimed(found=False), pace.due()
    (True, None, False)
    >>> t[0] = 0.1
    >>> pace.due()
    True
    """

    def __init__(self, claim_idle_ms: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._every_s = claim_idle_ms / 1000 / 10
        self._clock = clock
        self._next: float | None = None  # None: due now

    def due(self) -> bool:
        return self._next is None or self._clock() >= self._next

    def claimed(self, *, found: bool) -> None:
        self._next = None if found else self._clock() + self._every_s

    def failed(self) -> None:
        self._next = None


async def relay_loop(
    reader: GroupReader,
    step: Callable[[], Awaitable[object]],
    stopping: asyncio.Event,
    *,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """Create the group (retrying while Redis is away), then run ``step`` (one
    :meth:`GroupReader.step` and whatever its user adds) until ``stopping``."""
    name = reader.name
    while not stopping.is_set():
        try:
            await reader.ensure_group()
            break
        except RedisError as exc:
            REDIS_ERRORS.labels(name).inc()
            log.warning("relay cannot create its group", relay=name, error=str(exc))
            await sleep(RETRY_PAUSE_S)
    while not stopping.is_set():
        try:
            await step()
        except ResponseError as exc:
            REDIS_ERRORS.labels(name).inc()
            log.warning("relay read refused, recreating its group", relay=name, error=str(exc))
            await sleep(REFUSED_PAUSE_S)
            await _recreate_group(reader)
        except (RedisError, StoreError) as exc:
            REDIS_ERRORS.labels(name).inc()
            log.warning("relay step failed", relay=name, error=str(exc))
            await sleep(RETRY_PAUSE_S)
        except PublishError as exc:
            PUBLISH_ERRORS.labels(name).inc()
            log.warning("relay publish failed, retrying", relay=name, error=str(exc))
            await sleep(RETRY_PAUSE_S)


async def _recreate_group(reader: GroupReader) -> None:
    try:
        await reader.ensure_group()
    except RedisError as exc:  # Redis still away: the next step tries again
        log.warning("relay group not recreated", relay=reader.name, error=str(exc))


class GroupTail(ABC):
    """A :class:`GroupReader` run by :func:`relay_loop`: create the group, then read, handle
    and acknowledge batch after batch. A subclass says what one batch becomes
    (:meth:`handle`, which raises to leave it pending) and, if it wants, what follows its
    acknowledgement (:meth:`handled`: metrics)."""

    def __init__(self, redis: Redis, group: StreamGroup, *, name: str) -> None:
        self._reader = GroupReader(redis, group, name=name)

    @abstractmethod
    async def handle(self, entries: Sequence[Entry]) -> None:
        """Do what one batch of entries is read for; raise to leave it pending."""

    def handled(self, entries: Sequence[Entry]) -> None:  # noqa: B027 (an optional hook)
        """Called after the batch was handled and acknowledged."""

    async def ensure_group(self) -> None:
        await self._reader.ensure_group()

    async def run(self, stopping: asyncio.Event) -> None:
        """Tail the stream until ``stopping``; survives Redis and broker errors and a lost
        stream or group (:func:`relay_loop`)."""
        await relay_loop(self._reader, self.step, stopping)

    async def step(self) -> int:
        """Handle one batch: entries this consumer or a dead one left pending, else new
        ones; answers how many."""
        entries = await self._reader.step(self.handle)
        if entries:
            self.handled(entries)
        return len(entries)
