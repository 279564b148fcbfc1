"""A running count of input messages this deployment has finished (accepted, duplicate or
dead-lettered), so that a benchmark or an operator can tell when a stream is drained.

    rw:stats:v1          hash   processed -> count, batches -> count, round_trips -> the
                                sequential Redis round trips of those batches
    rw:stats:ceiling:v1  hash   processed -> count (the benchmark's no-op ceiling worker)

The count is bookkeeping after a batch is done: a Redis error here is reported (metric and
log) and never stops the worker; it is not retried, since a reply lost after the write
would count the batch twice.
"""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.telemetry import REDIS_ERRORS, get_logger

STATS_KEY = "rw:stats:v1"
CEILING_STATS_KEY = "rw:stats:ceiling:v1"
log = get_logger(__name__)


class Progress:
    def __init__(self, redis: Redis, key: str = STATS_KEY) -> None:
        self._redis = redis
        self._key = key
        self._last: asyncio.Future[None] | None = None

    def add_behind(self, processed: int, round_trips: int | None = None) -> None:
        """:meth:`add` in the background, after the previous one: the next batch need not
        wait out a round trip of bookkeeping, and the counts still land one at a time."""
        previous = self._last

        async def add() -> None:
            if previous is not None:
                await previous
            await self.add(processed, round_trips)

        self._last = asyncio.ensure_future(add())

    async def add(self, processed: int, round_trips: int | None = None) -> None:
        """Count ``processed`` messages; with ``round_trips``, also one batch and the
        sequential Redis round trips it waited for (the benchmark's figure per batch)."""
        try:
            if round_trips is None:
                await self._redis.hincrby(self._key, "processed", processed)
                return
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.hincrby(self._key, "processed", processed)
                pipe.hincrby(self._key, "batches", 1)
                pipe.hincrby(self._key, "round_trips", round_trips)
                await pipe.execute()
        except RedisError as exc:
            REDIS_ERRORS.labels("progress").inc()
            log.warning("progress count not updated", processed=processed, error=str(exc))

    async def processed(self) -> int:
        value = await self._redis.hget(self._key, "processed")
        return int(value or 0)
