"""Reading the alert feed (``rw:{alerts}:feed:v1``, written by :mod:`alerts.store`): what
the API's live board tails. Entries are ``(id, fields)`` as Redis answers them, oldest
first; ids are ``<seq>-<n>``. A Redis failure is raised as it comes (``RedisError``): the
board's tail counts it and is restarted (:mod:`api.feed`).
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from alerts.store import FEED_KEY

Row = tuple[bytes, dict[bytes, bytes]]


class AlertFeed:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def after(self, start: str, count: int) -> list[Row]:
        """At most ``count`` entries from ``start`` on (``(<id>`` excludes it)."""
        rows: Any = await self._redis.xrange(FEED_KEY, min=start, max="+", count=count)
        return list(rows)

    async def first(self) -> Row | None:
        rows: Any = await self._redis.xrange(FEED_KEY, min="-", max="+", count=1)
        return rows[0] if rows else None

    async def last(self) -> Row | None:
        rows: Any = await self._redis.xrevrange(FEED_KEY, max="+", min="-", count=1)
        return rows[0] if rows else None

    async def wait_after(self, entry_id: str, count: int, block_ms: int) -> list[Row]:
        """At most ``count`` entries after ``entry_id``, waiting up to ``block_ms`` for the
        first one; ``[]`` when none came."""
        reply: Any = await self._redis.xread({FEED_KEY: entry_id}, count=count, block=block_ms)
        return [row for _, rows in reply or () for row in rows]
