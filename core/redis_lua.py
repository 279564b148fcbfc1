"""Lua scripts run in Redis pipelines, without a round trip to ask whether they are loaded.

redis-py's ``Script``, queued on a pipeline, makes the pipeline send ``SCRIPT EXISTS`` for its
scripts before every execute: one more round trip per pipeline, which the worker's profile
showed costing about as much CPU as the pipelined commit itself. Here a pipeline just sends
``EVALSHA``; when Redis answers ``NOSCRIPT`` (it restarted, failed over, or its scripts were
flushed) the scripts are loaded and the pipeline runs once more.

A pipeline carries one script (any number of calls of it): ``NOSCRIPT`` then means that no
script call in it ran, whereas with two scripts one could have run and would run twice. Its
plain commands did run, so they must be ones that may run twice (index ``ZADD``/``ZREM``,
reads).
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
    redis: Redis, fill: Callable[[Pipeline], None], script: LuaScript
) -> list[Any]:
    """Queue commands with ``fill`` (calls of ``script`` only, and plain commands that may
    run twice) and execute them in one round trip; on ``NOSCRIPT``, load ``script`` and run
    the pipeline once more."""
    try:
        return await _execute(redis, fill)
    except NoScriptError:
        await script.load()
    return await _execute(redis, fill)


async def _execute(redis: Redis, fill: Callable[[Pipeline], None]) -> list[Any]:
    async with redis.pipeline(transaction=False) as pipe:
        fill(pipe)
        return await pipe.execute()
