"""The worker's agent on a batch that fails with an unexpected error: it exits (status 70,
for the supervisor to restart it) and acks nothing, so the batch is delivered again instead
of being committed unapplied. Driven through faust's in-memory agent test context."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace
from typing import Any

import faust
import pytest

from core.errors import StoreError
from core.settings import Settings
from processors import app as worker_app
from processors.stall import StallWatch


class _Exited(Exception):
    """What the patched exit raises instead of ending the test process."""


class _Processor:
    def __init__(self, *faults: BaseException) -> None:
        self.faults, self.calls = list(faults), 0
        self.done = asyncio.Event()  # a batch went through, or the agent exited

    async def process(self, batch: Any) -> None:
        self.calls += 1
        if self.faults:
            raise self.faults.pop(0)
        self.done.set()


async def _drive(processor: _Processor, monkeypatch: pytest.MonkeyPatch) -> tuple[list, list]:
    """Two events through the worker's agent; answers (exits, acked offsets)."""
    exits: list[tuple[str, int]] = []

    def exit_unacked(exc: BaseException, size: int) -> None:
        exits.append((type(exc).__name__, size))
        processor.done.set()
        raise _Exited

    monkeypatch.setattr(worker_app, "exit_unacked", exit_unacked)
    app = faust.App(
        "riskwire-test-agent", broker="kafka://127.0.0.1:9", loop=asyncio.get_running_loop()
    )
    app.finalize()
    app.flow_control.resume()
    settings = Settings(worker_batch_max=10, worker_batch_linger_s=0.01)
    runtime = SimpleNamespace(
        settings=settings, redis=None, processor=processor, replicated=_nothing
    )
    worker_app._attach_agent(app, runtime, ["in"], StallWatch(60.0))  # type: ignore[arg-type]
    [agent] = app.agents.values()
    acked: list[int] = []
    monkeypatch.setattr(faust.Stream, "ack", _recorder(acked))
    try:
        async with agent.test_context() as ctx:
            for _ in range(2):
                await ctx.put(b"{}", key=b"k", partition=0, wait=False)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(processor.done.wait(), 10)
    finally:
        app.consumer._thread.thread_loop.close()
    return exits, acked


async def _nothing() -> None:
    return None


def _recorder(acked: list[int]) -> Any:
    async def ack(stream: Any, event: Any) -> bool:
        acked.append(event.message.offset)
        return True

    return ack


async def test_an_unexpected_error_exits_and_acks_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    exits, acked = await _drive(_Processor(ValueError("a grade it cannot read")), monkeypatch)
    assert exits == [("ValueError", 2)]
    assert acked == []


async def test_a_redis_error_is_retried_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    processor = _Processor(StoreError("Redis away"), StoreError("Redis away"))  # 1 s pauses
    exits, _ = await _drive(processor, monkeypatch)
    assert exits == []
    assert processor.calls == 3  # two failures, then the batch went through
