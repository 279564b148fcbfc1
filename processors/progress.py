"""A running count of input messages this deployment has finished (accepted, duplicate or
dead-lettered), so that a benchmark or an operator can tell when a stream is drained.

    rw:stats:v1          hash   processed -> count
    rw:stats:ceiling:v1  hash   processed -> count (the benchmark's no-op ceiling worker)
"""

from __future__ import annotations

from redis.asyncio import Redis

STATS_KEY = "rw:stats:v1"
CEILING_STATS_KEY = "rw:stats:ceiling:v1"


class Progress:
    def __init__(self, redis: Redis, key: str = STATS_KEY) -> None:
        self._redis = redis
        self._key = key

    async def add(self, processed: int) -> None:
        await self._redis.hincrby(self._key, "processed", processed)

    async def processed(self) -> int:
        value = await self._redis.hget(self._key, "processed")
        return int(value or 0)
