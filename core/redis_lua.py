"""Lua scripts run in Redis pipelines, without a round trip to ask whether they are loaded.

redis-py's ``Script``, queued on a pipeline, makes the pipeline send ``SCRIPT EXISTS`` for its
scripts before every execute: one more round trip per pipeline, which the worker's profile
showed costing about as much CPU as the pipelined commit itself. Here a pipeline just sends
``EVALSHA``; when Redis answers ``NOSCRIPT`` (it restarted, failed over, or its scripts were
flushed) the script is loaded (on every master of a cluster) and only the calls that
answered ``NOSCRIPT`` run again.

Only those: a cluster pipeline goes to several nodes, and a master promoted after a
failover lacks the scripts its old master had loaded (Redis does not replicate
``SCRIPT LOAD``), so in one pipeline some calls can have run and others not; running the
whole pipeline again would run the first ones twice. The pipeline's plain commands ran
(or failed) once, as sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError

Call = tuple[Sequence[Any], Sequence[Any]]
# the script calls queued by the running fill: position in the pipeline -> (keys, args)
_queued: ContextVar[dict[int, Call] | None] = ContextVar("riskwire_lua_queued", default=None)


class LuaScript:
    """One script's source and SHA-1, queued on pipelines by :meth:`queue`."""

    def __init__(self, redis: Redis, source: str) -> None:
        self._redis = redis
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def queue(self, pipe: Pipeline, keys: Sequence[Any], args: Sequence[Any]) -> None:
        queued = _queued.get()
        if queued is not None:
            queued[len(pipe)] = (keys, args)
        # execute_command, not pipe.evalsha: redis-py's cluster pipeline refuses the latter
        pipe.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)

    async def load(self) -> None:
        await self._redis.script_load(self.source)


async def run_pipeline(
    redis: Redis, fill: Callable[[Pipeline], None], script: LuaScript
) -> list[Any]:
    """Queue commands with ``fill`` (calls of ``script``, and plain commands) and execute
    them in one round trip (one per node of a cluster); the calls that answered
    ``NOSCRIPT`` run again once ``script`` is loaded. Raises the first error otherwise."""
    queued: dict[int, Call] = {}
    token = _queued.set(queued)
    try:
        replies = await _execute(redis, fill)
    finally:
        _queued.reset(token)
    missing = [i for i in sorted(queued) if isinstance(replies[i], NoScriptError)]
    if missing:
        await script.load()

        def again(pipe: Pipeline) -> None:
            for i in missing:
                script.queue(pipe, *queued[i])

        for i, reply in zip(missing, await _execute(redis, again), strict=True):
            replies[i] = reply
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies


async def _execute(redis: Redis, fill: Callable[[Pipeline], None]) -> list[Any]:
    async with redis.pipeline(transaction=False) as pipe:
        fill(pipe)
        return await pipe.execute(raise_on_error=False)
