"""Worker heartbeats in Redis, so that ``/readyz`` can tell whether processors hold partitions.

rw:workers:v1   hash   worker id -> {"assigned": n, "at": epoch seconds}
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson
from redis.asyncio import Redis

WORKERS_KEY = "rw:workers:v1"
STALE_AFTER_S = 30.0


@dataclass(frozen=True, slots=True)
class Heartbeat:
    worker: str
    assigned: int
    at: float


async def beat(redis: Redis, worker: str, assigned: int) -> None:
    await redis.hset(WORKERS_KEY, worker, orjson.dumps({"assigned": assigned, "at": time.time()}))


async def live_workers(redis: Redis, *, now: float | None = None) -> list[Heartbeat]:
    """Workers that beat within the last ``STALE_AFTER_S`` seconds (stale ones are removed)."""
    now = time.time() if now is None else now
    live, stale = [], []
    for worker, raw in (await redis.hgetall(WORKERS_KEY)).items():
        doc = orjson.loads(raw)
        name = worker.decode() if isinstance(worker, bytes) else str(worker)
        if now - float(doc["at"]) > STALE_AFTER_S:
            stale.append(name)
        else:
            live.append(Heartbeat(name, int(doc["assigned"]), float(doc["at"])))
    if stale:
        await redis.hdel(WORKERS_KEY, *stale)
    return live
