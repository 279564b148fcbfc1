"""The recorded inspection draws (``/api/v1/inspections``), kept as the document to publish::

rw:inspections:draw:v1:<id>   string  the draw (JSON), with its department and its
                                      whole candidate set
rw:inspections:draws:v1       zset    draw id -> created (epoch ms)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson
from redis.asyncio import Redis

from api.schemas import DrawPublic

DRAW_KEY: Final = "rw:inspections:draw:v1:{draw_id}"
DRAWS_KEY: Final = "rw:inspections:draws:v1"


class DrawStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def save(self, public: DrawPublic, department: str, pool: Mapping[str, str]) -> None:
        """Record the draw with its department and its whole candidate set (uscc -> grade)."""
        record = public.model_dump(mode="json") | {
            "department": department,
            "candidates": [{"uscc": u, "grade": g} for u, g in sorted(pool.items())],
        }
        # Two hash slots of a cluster, so two writes, the record first: a crash in between
        # leaves a record no listing shows (the caller got an error), never a listed draw
        # without its record.
        await self._redis.set(DRAW_KEY.format(draw_id=public.draw_id), orjson.dumps(record))
        created_ms = int(public.created_at.timestamp() * 1000)
        await self._redis.zadd(DRAWS_KEY, {public.draw_id: created_ms})

    async def get(self, draw_id: str) -> dict[str, Any] | None:
        """The stored record of a draw, or ``None``."""
        raw = await self._redis.get(DRAW_KEY.format(draw_id=draw_id))
        return None if raw is None else dict(orjson.loads(raw))
