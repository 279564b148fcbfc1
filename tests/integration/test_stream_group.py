"""The consumer-group reader both relays share (:mod:`streams.stream_group`), on a real
Redis: batches come in stream order and each entry once; an entry is acknowledged only
after its handler returned, so a failed batch is read again (by this consumer or, once it
has been idle, by another), before any new entry; a group starts where it is told."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis

from core.redis_client import redis_client
from core.settings import Settings
from streams.stream_group import Entry, GroupReader, StreamGroup

pytestmark = [pytest.mark.redis]


@dataclass
class Tail:
    """A fresh stream on the test Redis, and readers of it."""

    redis: Redis
    stream: str

    def reader(
        self,
        consumer: str = "c",
        *,
        group: str = "g",
        start_id: str = "0",
        batch: int = 500,
        claim_idle_ms: int = 30_000,
    ) -> GroupReader:
        tail = StreamGroup(self.stream, group, consumer, start_id, batch, 50, claim_idle_ms)
        return GroupReader(self.redis, tail, name="test")

    async def add(self, *values: str) -> None:
        for value in values:
            await self.redis.xadd(self.stream, {"v": value})

    async def pending(self) -> int:
        return int((await self.redis.xpending(self.stream, "g"))["pending"])


@pytest.fixture
async def tail(settings: Settings) -> AsyncIterator[Tail]:
    on = Tail(redis_client(settings.redis_url), f"rw:test-group:{uuid.uuid4().hex[:8]}")
    try:
        yield on
    finally:
        await on.redis.delete(on.stream)
        await on.redis.aclose()


def _values(entries: Sequence[Entry]) -> list[bytes]:
    return [fields[b"v"] for _, fields in entries]


async def _drain(reader: GroupReader) -> list[list[bytes]]:
    """Step until nothing is left: the batches the handler was given."""
    handled: list[list[bytes]] = []

    async def handle(entries: Sequence[Entry]) -> None:
        handled.append(_values(entries))

    for _ in range(100):
        if not await reader.step(handle):
            break
    return handled


async def test_batches_come_in_stream_order_and_each_entry_once(tail: Tail) -> None:
    await tail.add(*[str(i) for i in range(7)])
    reader = tail.reader(batch=3)
    await reader.ensure_group()
    assert await _drain(reader) == [[b"0", b"1", b"2"], [b"3", b"4", b"5"], [b"6"]]
    assert await tail.pending() == 0


async def test_a_batch_whose_handler_failed_is_read_again_before_new_entries(
    tail: Tail,
) -> None:
    await tail.add("a")
    reader = tail.reader(claim_idle_ms=0)
    await reader.ensure_group()

    async def broken(entries: Sequence[Entry]) -> None:
        raise ConnectionError("broker away")

    with pytest.raises(ConnectionError):
        await reader.step(broken)
    assert await tail.pending() == 1  # not acknowledged
    await tail.add("b")
    assert await _drain(reader) == [[b"a"], [b"b"]]  # the resume point: the failed entry first
    assert await tail.pending() == 0


async def test_another_consumer_takes_over_what_a_dead_one_left_pending_once_idle(
    tail: Tail,
) -> None:
    await tail.add("a")
    dead = tail.reader("dead")
    await dead.ensure_group()
    assert _values(await dead.read()) == [b"a"]  # read, never acknowledged: the worker died
    survivor = tail.reader("survivor", claim_idle_ms=300)
    assert await survivor.read() == []  # not idle long enough yet
    taken: list[list[bytes]] = []
    for _ in range(100):
        taken = await _drain(survivor)
        if taken:
            break
    assert taken == [[b"a"]]
    assert await tail.pending() == 0


async def test_a_group_starts_at_the_stream_s_start_or_its_end_as_told(tail: Tail) -> None:
    await tail.add("before")
    from_start, from_now = tail.reader(), tail.reader(group="from-now", start_id="$")
    await from_start.ensure_group()
    await from_now.ensure_group()
    await from_now.ensure_group()  # an existing group is kept (BUSYGROUP is not an error)
    await tail.add("after")
    assert _values(await from_start.read()) == [b"before", b"after"]
    assert _values(await from_now.read()) == [b"after"]
