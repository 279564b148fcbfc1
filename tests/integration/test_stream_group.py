"""The consumer-group reader both relays share (:mod:`streams.stream_group`), on a real
Redis: batches come in stream order and each entry once; an entry is acknowledged only
after its handler returned, so a failed batch is read again (by this consumer or, once it
has been idle, by another), before any new entry; a group starts where it is told."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence

import pytest
from redis.asyncio import Redis

from core.settings import Settings
from streams.stream_group import Entry, GroupReader, StreamGroup

pytestmark = [pytest.mark.redis]


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def stream() -> str:
    return f"rw:test-group:{uuid.uuid4().hex[:8]}"


def _reader(
    redis: Redis,
    stream: str,
    consumer: str = "c",
    *,
    group: str = "g",
    start_id: str = "0",
    batch: int = 500,
    claim_idle_ms: int = 30_000,
) -> GroupReader:
    tail = StreamGroup(stream, group, consumer, start_id, batch, 50, claim_idle_ms)
    return GroupReader(redis, tail, name="test")


def _values(entries: Sequence[Entry]) -> list[bytes]:
    return [fields[b"v"] for _, fields in entries]


async def test_batches_come_in_stream_order_and_each_entry_once(redis: Redis, stream: str) -> None:
    for i in range(7):
        await redis.xadd(stream, {"v": str(i)})
    reader = _reader(redis, stream, batch=3)
    await reader.ensure_group()
    handled: list[list[bytes]] = []

    async def handle(entries: Sequence[Entry]) -> None:
        handled.append(_values(entries))

    while await reader.step(handle):
        pass
    assert handled == [[b"0", b"1", b"2"], [b"3", b"4", b"5"], [b"6"]]
    assert (await redis.xpending(stream, "g"))["pending"] == 0
    await redis.delete(stream)


async def test_a_batch_whose_handler_failed_is_read_again_before_new_entries(
    redis: Redis, stream: str
) -> None:
    await redis.xadd(stream, {"v": "a"})
    reader = _reader(redis, stream, claim_idle_ms=0)
    await reader.ensure_group()

    async def broken(entries: Sequence[Entry]) -> None:
        raise ConnectionError("broker away")

    with pytest.raises(ConnectionError):
        await reader.step(broken)
    await redis.xadd(stream, {"v": "b"})
    handled: list[list[bytes]] = []

    async def handle(entries: Sequence[Entry]) -> None:
        handled.append(_values(entries))

    while await reader.step(handle):
        pass
    assert handled == [[b"a"], [b"b"]]  # the resume point: the unacknowledged entry first
    await redis.delete(stream)


async def test_another_consumer_takes_over_what_a_dead_one_left_pending_once_idle(
    redis: Redis, stream: str
) -> None:
    await redis.xadd(stream, {"v": "a"})
    dead = _reader(redis, stream, "dead")
    await dead.ensure_group()
    assert _values(await dead.read()) == [b"a"]  # read, never acknowledged: the worker died
    survivor = _reader(redis, stream, "survivor", claim_idle_ms=200)
    assert await survivor.read() == []  # not idle long enough yet
    taken: list[bytes] = []

    async def handle(entries: Sequence[Entry]) -> None:
        taken.extend(_values(entries))

    for _ in range(100):
        if await survivor.step(handle):
            break
    assert taken == [b"a"]
    assert (await redis.xpending(stream, "g"))["pending"] == 0
    await redis.delete(stream)


async def test_a_group_starts_at_the_stream_s_start_or_its_end_as_told(
    redis: Redis, stream: str
) -> None:
    await redis.xadd(stream, {"v": "before"})
    from_start = _reader(redis, stream)
    from_now = _reader(redis, stream, group="from-now", start_id="$")
    await from_start.ensure_group()
    await from_now.ensure_group()
    await from_now.ensure_group()  # an existing group is kept (BUSYGROUP is not an error)
    await redis.xadd(stream, {"v": "after"})
    assert _values(await from_start.read()) == [b"before", b"after"]
    assert _values(await from_now.read()) == [b"after"]
    await redis.delete(stream)
