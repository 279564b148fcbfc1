"""When a group reader looks for pending entries (``XAUTOCLAIM``) before its blocking read
(:class:`streams.stream_group.ClaimPace`): on its first read, then every tenth of
``claim_idle_ms``, at once again while claims find entries and after a failed batch; in
between, straight to ``XREADGROUP``, so that a new entry waits for no claim."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import pytest
from redis.asyncio import Redis

from streams.stream_group import ClaimPace, Entry, GroupReader, StreamGroup


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeRedis:
    """Records the commands; ``claimable`` is what the next XAUTOCLAIM answers."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.claimable: list[Entry] = []
        self.new: list[Entry] = []

    async def xautoclaim(self, *args: Any, **kwargs: Any) -> list[Any]:
        self.calls.append("xautoclaim")
        claimed, self.claimable = self.claimable, []
        return [b"0-0", claimed, []]

    async def xreadgroup(self, *args: Any, **kwargs: Any) -> list[Any]:
        self.calls.append("xreadgroup")
        new, self.new = self.new, []
        return [[b"s", new]] if new else []

    async def xack(self, *args: Any) -> int:
        self.calls.append("xack")
        return len(args) - 2


def entry(n: int) -> Entry:
    return (f"{n}-0".encode(), {b"v": str(n).encode()})


def reader(redis: FakeRedis, clock: Clock) -> GroupReader:
    r = GroupReader(cast(Redis, redis), StreamGroup("s", "g", "c", claim_idle_ms=1000), name="test")
    r._claims = ClaimPace(1000, clock)
    return r


async def ok(entries: Sequence[Entry]) -> None:
    return None


async def test_a_claim_that_found_nothing_is_not_repeated_before_a_tenth_of_idle() -> None:
    redis, clock = FakeRedis(), Clock()
    r = reader(redis, clock)
    redis.new = [entry(1)]
    await r.step(ok)
    assert redis.calls == ["xautoclaim", "xreadgroup", "xack"]
    redis.calls.clear()
    redis.new = [entry(2)]
    await r.step(ok)
    assert redis.calls == ["xreadgroup", "xack"]  # a new entry waits for no claim
    redis.calls.clear()
    clock.now += 0.1  # a tenth of claim_idle_ms
    await r.step(ok)
    assert redis.calls == ["xautoclaim", "xreadgroup"]


async def test_claims_go_on_while_they_find_entries() -> None:
    redis, clock = FakeRedis(), Clock()
    r = reader(redis, clock)
    redis.claimable = [entry(1)]
    assert await r.step(ok) == [entry(1)]
    redis.claimable = [entry(2)]
    assert await r.step(ok) == [entry(2)]
    assert await r.step(ok) == []
    assert redis.calls == ["xautoclaim", "xack", "xautoclaim", "xack", "xautoclaim", "xreadgroup"]


async def test_after_a_failed_batch_the_next_read_looks_for_pending_entries_first() -> None:
    redis, clock = FakeRedis(), Clock()
    r = reader(redis, clock)
    await r.step(ok)  # the first claim found nothing: the next is not due yet
    redis.calls.clear()

    async def broken(entries: Sequence[Entry]) -> None:
        raise ConnectionError("broker away")

    redis.new = [entry(1)]
    with pytest.raises(ConnectionError):
        await r.step(broken)
    assert redis.calls == ["xreadgroup"]  # not acknowledged
    redis.calls.clear()
    redis.claimable = [entry(1)]
    assert await r.step(ok) == [entry(1)]
    assert redis.calls == ["xautoclaim", "xack"]


def test_claim_idle_zero_claims_before_every_read() -> None:
    pace = ClaimPace(0, Clock())
    pace.claimed(found=False)
    assert pace.due()
