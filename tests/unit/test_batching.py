"""processors.batching.take_batches: a batch starts when it is full, at once on events that
were already waiting, or ``linger`` after a lone first event; never more than ``max_`` events.
Driven through faust's own in-memory agent test context (no broker is contacted)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import faust
import pytest

from processors.batching import take_batches

Put = Callable[[int], Awaitable[Any]]


@contextlib.asynccontextmanager
async def _test_context(
    app_id: str, name: str, agent: Callable[[Any], Awaitable[None]]
) -> AsyncIterator[Any]:
    """``agent`` as the agent ``name`` of an in-memory faust app, in faust's own agent test
    context (no broker is contacted)."""
    app = faust.App(
        app_id,
        broker="kafka://127.0.0.1:9",
        store="memory://",
        loop=asyncio.get_running_loop(),
    )
    app.finalize()
    app.flow_control.resume()
    try:
        async with app.agent(name=name)(agent).test_context() as ctx:
            yield ctx
    finally:
        # The stream made the app build its Kafka consumer, whose thread owns an event loop
        # of its own; never started, nothing else closes it.
        app.consumer._thread.thread_loop.close()


async def _run(
    max_: int,
    linger: float,
    feed: Callable[[Put], Awaitable[None]],
    *,
    expect: int,
    busy_s: float = 0.0,
) -> tuple[list[list[int]], list[float]]:
    """Run an agent taking batches (busy ``busy_s`` with each) while ``feed(put)`` puts
    values, until ``expect`` values were taken or 20 s passed; answers the batches and when
    each started (monotonic seconds)."""
    batches: list[list[int]] = []
    started: list[float] = []
    taken = asyncio.Event()

    async def agent(stream: Any) -> None:
        async for events in take_batches(stream, max_, linger):
            started.append(time.monotonic())
            batches.append([e.value for e in events])
            await asyncio.sleep(busy_s)
            if sum(map(len, batches)) >= expect:
                taken.set()

    async with _test_context("riskwire-test-batching", "batches", agent) as ctx:
        await feed(ctx.put)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(taken.wait(), 20)
    return batches, started


async def test_an_idle_worker_takes_a_lone_event() -> None:
    async def feed(put: Put) -> None:
        await put(1)

    assert (await _run(1000, 0.005, feed, expect=1))[0] == [[1]]


async def test_a_lone_event_waits_linger_for_company() -> None:
    async def feed(put: Put) -> None:
        await put(0)
        await asyncio.sleep(0.1)
        await put(1)

    assert (await _run(1000, 1.0, feed, expect=2))[0] == [[0, 1]]


async def test_events_arriving_together_share_a_batch() -> None:
    async def feed(put: Put) -> None:
        for i in range(5):
            await put(i)

    assert (await _run(1000, 0.05, feed, expect=5))[0] == [[0, 1, 2, 3, 4]]


async def test_a_batch_never_holds_more_than_max() -> None:
    async def feed(put: Put) -> None:
        for i in range(7):
            await put(i)

    batches, _ = await _run(3, 0.05, feed, expect=7)
    assert batches == [[0, 1, 2], [3, 4, 5], [6]]


async def test_what_arrived_during_a_batch_starts_at_once_after_it() -> None:
    # The first batch is full at once; the agent is busy 300 ms with it; two more arrive
    # meanwhile. They are the next batch, started as soon as the first is done, not after
    # the 5 s a lone event in an idle worker waits for company (nor a fixed window after the
    # previous batch, as faust's take_events waits).
    async def feed(put: Put) -> None:
        for i in range(3):
            await put(i)
        await asyncio.sleep(0.1)
        for i in range(3, 5):
            await put(i)

    batches, started = await _run(3, 5.0, feed, expect=5, busy_s=0.3)
    assert batches == [[0, 1, 2], [3, 4]]
    assert started[1] - started[0] < 2.5  # 0.3 s of work, not 0.3 s + 5 s of lingering


async def test_a_worker_behind_takes_everything_waiting_not_only_a_linger_of_it() -> None:
    # 200 events arrive while the first batch is processed. With linger 0 the next batch
    # must still hold all of them: moving waiting events into a batch is bounded by max_,
    # not by linger (which made a backlog's batches a tenth of max_).
    async def feed(put: Put) -> None:
        await put(0)
        await asyncio.sleep(0.05)
        put_now: Any = put  # faust's test put waits for each event to be processed
        for i in range(1, 201):
            await put_now(i, wait=False)

    batches, _ = await _run(1000, 0.0, feed, expect=201, busy_s=0.3)
    assert batches == [[0], list(range(1, 201))]


async def test_nonsense_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="max_ >= 1"):
        await take_batches(object(), 0, 0.1).__anext__()
    with pytest.raises(ValueError, match="linger >= 0"):
        await take_batches(object(), 10, -1).__anext__()


async def test_a_batch_the_caller_raised_on_is_not_acked() -> None:
    # faust's take_events acks a batch in a `finally`, so a batch whose processing raised
    # was committed though never applied. Here only a batch the caller came back from is.
    acked: list[int] = []
    held: list[list[int]] = []
    done = asyncio.Event()

    async def agent(stream: Any) -> None:
        async def ack(event: Any) -> bool:
            acked.append(event.value)
            return True

        stream.ack = ack
        batches = take_batches(stream, 2, 0.01)
        held.append([e.value for e in await batches.__anext__()])
        held.append([e.value for e in await batches.__anext__()])  # the first is acked now
        with contextlib.suppress(RuntimeError):
            await batches.athrow(RuntimeError("the processor failed on the second batch"))
        done.set()

    async with _test_context("riskwire-test-batching-acks", "acks", agent) as ctx:
        for i in range(4):
            await ctx.put(i)
        await asyncio.wait_for(done.wait(), 20)
    assert held == [[0, 1], [2, 3]]
    assert acked == [0, 1]
