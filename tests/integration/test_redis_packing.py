"""The client every riskwire process uses packs with hiredis, and Redis reads it back
byte for byte: values, scores, scripts and pipelines."""

from __future__ import annotations

import uuid

import pytest

from core.redis_packing import HiredisPacking
from core.settings import Settings
from processors.runtime import redis_client

pytestmark = [pytest.mark.redis]


async def test_redis_reads_what_hiredis_packed(settings: Settings) -> None:
    redis = redis_client(settings)
    key = f"rw:test:packing:{uuid.uuid4().hex}"
    value = "前海蛇口".encode() + bytes(range(256)) * 500  # binary, past any buffer cut-off
    try:
        assert issubclass(redis.connection_pool.connection_class, HiredisPacking)
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, mapping={"doc": value, "n": 7, "f": 0.1})
            pipe.hmget(key, "doc", "n", "f")
            pipe.eval("return redis.call('HGET', KEYS[1], ARGV[1])", 1, key, "n")
            replies = await pipe.execute()
        assert replies[1:] == [[value, b"7", b"0.1"], b"7"]
        await redis.zadd(f"{key}:z", {"a": 739000.5, "b": -1e20})
        assert await redis.zrange(f"{key}:z", 0, -1, withscores=True) == [
            (b"b", -1e20),
            (b"a", 739000.5),
        ]
    finally:
        await redis.delete(key, f"{key}:z")
        await redis.aclose()
