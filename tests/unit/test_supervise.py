"""Supervised tasks: a task that raises or returns is started again after a growing
pause, a run that lasted starts the count again, and only cancellation stops it."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from core.supervise import Backoff, supervise


async def test_a_failing_task_is_restarted_with_growing_pauses_until_cancelled() -> None:
    runs: list[float] = []
    pauses: list[float] = []
    now = [0.0]

    async def flaky() -> None:
        runs.append(now[0])
        if len(runs) == 4:
            now[0] += 60  # this run lasted: the next failure counts from one again
        if len(runs) == 6:
            await asyncio.Event().wait()  # up for good
        if len(runs) % 2:
            raise ConnectionError("Redis restarting")

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    task = asyncio.create_task(
        supervise("test", flaky, backoff=Backoff(1, 4, 10), sleep=pause, monotonic=lambda: now[0])
    )
    for _ in range(100):
        await asyncio.sleep(0)
    assert len(runs) == 6
    assert pauses == [1, 2, 4, 1, 2]  # raised or returned alike; reset after a long run
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cancellation_is_not_taken_for_a_failure() -> None:
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(supervise("test", forever))
    await started.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert task.cancelled()
