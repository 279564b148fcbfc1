"""``riskwire alerts reindex``: the one-off backfill of the listing indices.

An upgrade from a version without the indices runs it once; until it finishes, listings
miss the older alerts (they are still stored and readable by id). Run on demand rather
than at start-up: with a million alerts it takes about a minute (``make bench-api``
reports the rate), which no API or worker start should wait for, and two processes
starting together would both do it.
"""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from rich.progress import Progress

from alerts.index import reindex
from alerts.store import REV_KEY
from core.redis_client import redis_client
from core.settings import Settings


async def _reindex(redis: Redis) -> int:
    total, indexed = int(await redis.hlen(REV_KEY)), 0
    with Progress() as progress:
        task = progress.add_task("indexing alerts", total=total)
        async for done in reindex(redis):
            indexed += done
            progress.advance(task, done)
    return indexed


def reindex_command(settings: Settings) -> int:
    async def run() -> int:
        redis = redis_client(settings.redis_url)
        try:
            return await _reindex(redis)
        finally:
            await redis.aclose()

    print(f"indexed {asyncio.run(run())} alerts")
    return 0
