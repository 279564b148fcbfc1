"""Supervised tasks: a task that raises or returns is started again after a growing
pause, a run that lasted starts the count again, and only cancellation stops it (or, when
asked, the task returning); the worker's tasks and timers count in the same metric."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from prometheus_client import REGISTRY

from core.supervise import Backoff, supervise
from processors.supervise import keep_running, reported


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


async def test_a_task_that_keeps_failing_for_days_is_still_restarted_at_the_cap() -> None:
    """Over 1,024 quick failures in a row (about 85 minutes of a dependency down, at the
    5-second cap) the pause once overflowed a float and the supervisor itself died."""
    runs = 0
    pauses: list[float] = []
    done = asyncio.Event()

    async def down() -> None:
        nonlocal runs
        runs += 1
        if runs == 3_000:
            done.set()
            await asyncio.Event().wait()
        raise ConnectionError("Redis down")

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    task = asyncio.create_task(supervise("test", down, sleep=pause, monotonic=lambda: 0.0))
    await asyncio.wait_for(done.wait(), timeout=30)
    assert len(pauses) == 2_999
    assert pauses[-1] == Backoff().max_s
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


async def test_with_stop_on_return_a_task_that_returns_ends_and_one_that_raises_restarts() -> None:
    runs: list[int] = []
    pauses: list[float] = []

    async def relay_until_stopped() -> None:
        runs.append(len(runs))
        if len(runs) < 3:
            raise ConnectionError("broker away")

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    before = _restarts("stop-on-return")
    await asyncio.wait_for(
        supervise(
            "stop-on-return",
            relay_until_stopped,
            backoff=Backoff(1, 4, 10),
            sleep=pause,
            stop_on_return=True,
        ),
        timeout=5,
    )
    assert runs == [0, 1, 2]
    assert pauses == [1, 2]
    assert _restarts("stop-on-return") == before + 2


async def test_the_worker_s_tasks_and_timers_count_in_the_one_restart_metric() -> None:
    async def flaky() -> None:
        if _restarts("worker-task") == before_task:
            raise ConnectionError("Redis went away")

    async def broken_round() -> None:
        raise ConnectionError("Redis went away")

    before_task, before_timer = _restarts("worker-task"), _restarts("worker-timer")
    await asyncio.wait_for(
        keep_running("worker-task", flaky, backoff=Backoff(0.001, 0.001)), timeout=5
    )
    await reported("worker-timer", broken_round)
    assert _restarts("worker-task") == before_task + 1
    assert _restarts("worker-timer") == before_timer + 1
    assert "riskwire_worker_task_errors" not in {m.name for m in REGISTRY.collect()}


async def test_a_supervised_task_s_restart_series_exists_before_its_first_restart() -> None:
    started = asyncio.Event()

    async def healthy() -> None:
        started.set()
        await asyncio.Event().wait()

    async def timer_round() -> None:
        return None

    task = asyncio.create_task(supervise("never-failed", healthy))
    await started.wait()
    await reported("never-failed-timer", timer_round)
    sample = "riskwire_task_restarts_total"
    assert REGISTRY.get_sample_value(sample, {"task": "never-failed"}) == 0.0
    assert REGISTRY.get_sample_value(sample, {"task": "never-failed-timer"}) == 0.0
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _restarts(task: str) -> float:
    return REGISTRY.get_sample_value("riskwire_task_restarts_total", {"task": task}) or 0.0
