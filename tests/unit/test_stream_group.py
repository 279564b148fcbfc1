"""The relay loop both relays run (:func:`streams.stream_group.relay_loop`), on a scripted
reader: the group is created before any step (retried while Redis is away), a refused read
recreates the group, a Redis, store or broker failure pauses and tries again, and nothing
but ``stopping`` ends the loop."""

from __future__ import annotations

import asyncio
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from core.errors import PublishError, StoreError
from streams.stream_group import (
    REFUSED_PAUSE_S,
    RETRY_PAUSE_S,
    GroupReader,
    StreamGroup,
    relay_loop,
)


class ScriptedReader(GroupReader):
    """Fails ``ensure_group`` ``away`` times, then records each call."""

    def __init__(self, away: int) -> None:
        super().__init__(cast(Redis, None), StreamGroup("s", "g", "c"), name="test")
        self.away = away
        self.calls: list[str] = []

    async def ensure_group(self) -> None:
        if self.away:
            self.away -= 1
            self.calls.append("ensure_group: Redis away")
            raise RedisConnectionError("connection refused")
        self.calls.append("ensure_group")


async def test_the_loop_recovers_from_every_failure_in_order_until_stopped() -> None:
    reader = ScriptedReader(away=2)
    stopping = asyncio.Event()
    pauses: list[float] = []
    outcomes: list[BaseException | None] = [
        ResponseError("NOGROUP No such key 's' or consumer group 'g'"),
        RedisConnectionError("Redis restarting"),
        StoreError("a Lua script failed"),
        PublishError("broker away", refused=None),
        None,
    ]

    async def step() -> None:
        outcome = outcomes.pop(0)
        reader.calls.append(f"step: {type(outcome).__name__}")
        if outcome is not None:
            raise outcome
        stopping.set()

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    await asyncio.wait_for(relay_loop(reader, step, stopping, sleep=pause), timeout=5)
    assert reader.calls == [
        "ensure_group: Redis away",
        "ensure_group: Redis away",
        "ensure_group",
        "step: ResponseError",
        "ensure_group",  # the refused read recreated the group
        "step: ConnectionError",
        "step: StoreError",
        "step: PublishError",
        "step: NoneType",
    ]
    assert pauses == [
        RETRY_PAUSE_S,
        RETRY_PAUSE_S,
        REFUSED_PAUSE_S,
        RETRY_PAUSE_S,
        RETRY_PAUSE_S,
        RETRY_PAUSE_S,
    ]


async def test_a_group_that_cannot_be_recreated_yet_does_not_stop_the_loop() -> None:
    reader = ScriptedReader(away=0)
    stopping = asyncio.Event()
    steps = 0

    async def step() -> None:
        nonlocal steps
        steps += 1
        if steps == 1:
            reader.away = 1  # Redis is away when the loop recreates the group
            raise ResponseError("UNBLOCKED the stream key no longer exists")
        stopping.set()

    async def pause(_: float) -> None:
        return None

    await asyncio.wait_for(relay_loop(reader, step, stopping, sleep=pause), timeout=5)
    assert steps == 2
    assert reader.calls == ["ensure_group", "ensure_group: Redis away"]


async def test_a_stopped_loop_runs_no_step() -> None:
    reader = ScriptedReader(away=0)
    stopping = asyncio.Event()
    stopping.set()

    async def step() -> None:
        raise AssertionError("stepped after stop")

    await asyncio.wait_for(relay_loop(reader, step, stopping), timeout=5)
    assert reader.calls == []
