"""A running count of input messages this deployment has finished (accepted, duplicate or
dead-lettered), so that a benchmark or an operator can tell when a stream is drained.

    rw:stats:v1   hash   processed -> count
"""

from __future__ import annotations

from redis.asyncio import Redis

STATS_KEY = "rw:stats:v1"


class Progress:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def add(self, processed: int) -> None:
        await self._redis.hincrby(STATS_KEY, "processed", processed)

    async def processed(self) -> int:
        value = await self._redis.hget(STATS_KEY, "processed")
        return int(value or 0)
