"""hiredis packs every command exactly as redis-py's own Python packer would."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import Connection, UnixDomainSocketConnection
from redis.exceptions import DataError

from core.redis_packing import HiredisPacking, pack, pack_with_hiredis

COMMANDS: list[tuple[Any, ...]] = [
    ("PING",),
    ("HGET", "rw:{ent:91440300MA5DA1B2XK}:v1", "doc"),
    ("SCRIPT LOAD", "return redis.call('GET', KEYS[1])"),
    (b"CLIENT SETNAME", b"riskwire"),
    ("EVALSHA", "0" * 40, 2, "k1", b"k2", 7, -3, 0.1, 1e20, 2.5, "深圳前海", b"\x00\xff"),
    ("ZADD", "rw:ix:v1:addr:x", 739000.0, "uscc"),
    ("SET", "k", memoryview(b"viewed"), "EX", 60),
    ("SET", "k", bytearray(b"mutable")),
    ("SET", "big", b"x" * 100_000),  # past redis-py's buffer cut-off: sent in pieces there
]


def python_packed(*args: Any) -> bytes:
    return b"".join(bytes(piece) for piece in Connection().pack_command(*args))


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: str(a[0]))
def test_hiredis_packs_as_redis_py_does(args: tuple[Any, ...]) -> None:
    assert pack(args) == python_packed(*args)


def test_a_pipeline_is_packed_as_one_buffer_of_the_same_bytes() -> None:
    expected = b"".join(python_packed(*args) for args in COMMANDS)
    assert HiredisPacking().pack_commands(COMMANDS) == [expected]


@pytest.mark.parametrize("bad", [None, True, object()])
def test_an_argument_redis_has_no_text_for_is_a_data_error(bad: object) -> None:
    with pytest.raises(DataError):
        pack(("SET", "k", bad))


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "unix:///tmp/redis.sock", "rediss://127.0.0.1:6380/0"]
)
async def test_every_kind_of_connection_packs_with_hiredis(url: str) -> None:
    redis = pack_with_hiredis(Redis.from_url(url))
    try:
        cls = redis.connection_pool.connection_class
        assert issubclass(cls, HiredisPacking)
        assert cls.pack_command is HiredisPacking.pack_command  # ahead of redis-py's own
        if url.startswith("unix"):
            assert issubclass(cls, UnixDomainSocketConnection)
    finally:
        await redis.aclose()
