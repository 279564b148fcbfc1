"""Scripts queued on pipelines without redis-py's per-pipeline ``SCRIPT EXISTS``: they still
run, once each, after Redis has lost its scripts (a restart, a failover, ``SCRIPT FLUSH``)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError

from core.redis_lua import LuaScript, run_pipeline

from .conftest import TEST_REDIS

pytestmark = [pytest.mark.redis]

INCR_BY = "return redis.call('INCRBY', KEYS[1], ARGV[1])"


async def test_a_pipeline_runs_its_script_after_redis_lost_it(redis: Redis) -> None:
    key = f"rw:test:lua:{uuid.uuid4().hex}"
    # A source of its own, so no other test has loaded it and the first run meets NOSCRIPT.
    script = LuaScript(redis, f"{INCR_BY} -- {uuid.uuid4().hex}")

    def fill(pipe: Pipeline) -> None:
        script.queue(pipe, [key], [2])
        script.queue(pipe, [key], [3])

    try:
        # Each call ran once, whether Redis had the script or not.
        assert await run_pipeline(redis, fill, script) == [2, 5]
        assert await run_pipeline(redis, fill, script) == [7, 10]
        await redis.script_flush()
        assert await run_pipeline(redis, fill, script) == [12, 15]
    finally:
        await redis.delete(key)


async def test_a_script_redis_cannot_load_is_an_error(redis: Redis) -> None:
    """Loading is tried once; a pipeline that still meets NOSCRIPT raises."""
    unknown = LuaScript(redis, "return 1")
    unknown.sha = "0" * 40  # a SHA that loading "return 1" does not provide

    with pytest.raises(NoScriptError):
        await run_pipeline(redis, lambda pipe: unknown.queue(pipe, [], []), unknown)


@pytest.mark.skipif(TEST_REDIS != "cluster", reason="one Redis holds its scripts or not")
async def test_calls_run_once_when_only_some_masters_lost_the_script(redis: Redis) -> None:
    """A failover leaves the promoted master without the scripts its old master had loaded:
    one pipeline's calls then meet NOSCRIPT on one node and run on another. Each call still
    runs exactly once (re-running the whole pipeline would run the others twice)."""
    tag = uuid.uuid4().hex
    keys = [f"rw:test:lua:{{{tag}-{i}}}" for i in range(40)]  # slots on every master
    script = LuaScript(redis, f"{INCR_BY} -- {tag}")
    cluster: Any = redis
    await cluster.initialize()
    masters = {cluster.get_node_from_key(k).name for k in keys}
    assert len(masters) == 3, masters
    await redis.script_flush()
    loaded = cluster.get_node_from_key(keys[0])
    await cluster.execute_command("SCRIPT LOAD", script.source, target_nodes=loaded)

    def fill(pipe: Pipeline) -> None:
        for key in keys:
            script.queue(pipe, [key], [1])

    try:
        assert await run_pipeline(redis, fill, script) == [1] * len(keys)
        assert [int(await redis.get(k)) for k in keys] == [1] * len(keys)
    finally:
        await redis.delete(*keys)
