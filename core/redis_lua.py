"""Lua scripts run in Redis pipelines, without a round trip to ask whether they are loaded.

redis-py's ``Script``, queued on a pipeline, makes the pipeline send ``SCRIPT EXISTS`` for its
scripts before every execute: one more round trip per pipeline, which the worker's profile
showed costing about as much CPU as the pipelined commit itself. Here a pipeline just sends
``EVALSHA``; when Redis answers ``NOSCRIPT`` (it restarted, failed over, or its scripts were
flushed) the scripts are loaded and the pipeline runs once more.

Running a pipeline again is only right when every plain command in it may run twice (index
``ZADD``/``ZREM``, reads): ``NOSCRIPT`` means no script in it ran, but the plain commands did.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError


class LuaScript:
    """One script's source and SHA-1, queued on pipelines by :meth:`queue`."""

    def __init__(self, redis: Redis, source: str) -> None:
        self._redis = redis
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def queue(self, pipe: Pipeline, keys: Sequence[Any], args: Sequence[Any]) -> None:
        pipe.evalsha(self.sha, len(keys), *keys, *args)

    async def load(self) -> None:
        await self._redis.script_load(self.source)


async def run_pipeline(
    redis: Redis, fill: Callable[[Pipeline], None], scripts: Sequence[LuaScript]
) -> list[Any]:
    """Queue commands with ``fill`` and execute them in one round trip; on ``NOSCRIPT``,
    load ``scripts`` and run the pipeline once more (see the module's caveat)."""
    for attempt in (1, 2):
        async with redis.pipeline(transaction=False) as pipe:
            fill(pipe)
            try:
                return await pipe.execute()
            except NoScriptError:
                if attempt == 2:
                    raise
        for script in scripts:
            await script.load()
    raise AssertionError("unreachable")
