"""Batches that start as soon as the worker is free, not after a fixed window.

faust's ``Stream.take_events(max_, within)`` waits for ``max_`` events or ``within``
seconds, and its clock starts when the previous batch is done. An event that arrives while a
batch is processed therefore waits for that batch *and then* the whole window, and an event
that arrives into an idle worker waits half a window on average.

:func:`take_batches` is the same loop with another wake-up: the window starts at the
batch's first event, and it is ``linger`` long (a few milliseconds). So:

- an idle worker starts on an event ``linger`` after it arrives;
- a busy worker, when it finishes a batch, starts the next at once on what arrived meanwhile
  (events that waited while it was busy mean it is behind: it takes them without lingering);
- under a backlog batches fill to ``max_`` and start at once, as before.

Batches grow with the load by themselves: what arrives while one batch is processed is the
next one. Every event of a batch is acked when the caller asks for the next batch, never
before; a caller that raises (or is closed) leaves its batch unacked, so the batch is
delivered again after a restart and never committed unapplied.

Adapted from faust-streaming's ``Stream.take_events`` (BSD-3-Clause): the buffering
processor is the same; the wake-up differs, and so does a failed batch (take_events acks
it in a ``finally``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from faust.types import EventT

# How long a worker that is behind may spend moving waiting events into one batch; max_ is
# what normally ends it (at ~50 us an event, 1,000 events take ~50 ms).
BEHIND_BOUND_S = 0.25


async def take_batches(stream: Any, max_: int, linger: float) -> AsyncIterator[list[EventT[Any]]]:
    """Yield lists of at most ``max_`` events of ``stream``: each as soon as it is full, at
    once on events that waited while the caller was busy, or ``linger`` seconds after a lone
    first event. The events are acked when the caller asks for the next batch; a batch the
    caller raised on (or closed the generator with) is not acked."""
    if max_ < 1 or linger < 0:
        raise ValueError(f"take_batches needs max_ >= 1 and linger >= 0, got {max_}, {linger}")
    buffer = _Buffer(stream, max_)
    acks = stream.enable_acks
    stream.enable_acks = False  # acked here, after the caller is done with the batch
    stream.add_processor(buffer.add)
    stream._enable_passive(aiter(stream.channel))  # faust's own take_events does the same
    try:
        while not stream.should_stop:
            await buffer.fill(linger)
            if stream.should_stop:
                break
            batch = buffer.hold()
            try:
                yield batch
            except BaseException:
                # The caller did not finish the batch (it raised, or was closed): nothing is
                # acked, so the batch is delivered again after a restart. faust's take_events
                # acks it anyway, which commits events that were never applied.
                buffer.abandon()
                raise
            await buffer.hand_back(batch)
    finally:
        stream.enable_acks = acks
        stream._processors.remove(buffer.add)


class _Buffer:
    """The events of the next batch, filled by the stream's own drainer through :meth:`add`
    (a stream processor) while the caller is not holding a batch."""

    def __init__(self, stream: Any, max_: int) -> None:
        self._stream, self._max = stream, max_
        self._events: list[EventT[Any]] = []
        self._first = asyncio.Event()  # the batch's first event is buffered
        self._full = asyncio.Event()
        self._emptied = asyncio.Event()  # the full buffer was handed over and acked
        self._handing: asyncio.Future[None] | None = None  # set while the caller holds one
        self._parked = False  # the stream holds an event that waits for the hand-back
        self._behind = False  # events were waiting when the last batch was handed back
        self._queue = getattr(stream.channel, "queue", None)  # delivered, not yet read

    async def add(self, value: Any) -> Any:
        try:
            if self._handing is not None:  # no event joins a batch the caller holds
                self._parked = True
                try:
                    await self._handing
                finally:
                    self._handing, self._parked = None, False
            event = self._stream.current_event
            if event is None:
                raise RuntimeError("take_batches found no current event")
            self._events.append(event)
            self._first.set()
            if len(self._events) >= self._max:
                self._full.set()
                self._emptied.clear()
                await self._stream.wait(self._emptied)  # never more than max_ in a batch
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # as take_events: a buffering fault stops the stream
            await self._stream.crash(exc)
        return value

    async def fill(self, linger: float) -> None:
        """Wait until the batch may start (mode's wait answers "stopped" on a timeout too,
        so the caller asks the stream whether it stopped)."""
        stream, full = self._stream, self._full
        await stream.wait(self._first)
        if self._behind:
            # What waited while the last batch was processed is this batch, taken at once,
            # all of it up to max_: each yield lets the stream move one more waiting event in
            # (one loop cycle an event, the same work whichever batch the event lands in).
            # Bounded by linger alone, a backlog made batches of what a few ms of moving
            # could reach (36-270 events, not 1,000), and the per-batch cost (round trips,
            # fsyncs, the model's version read) was paid 5-20 times as often. BEHIND_BOUND_S only
            # stops a stream that stopped moving from holding the batch.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + max(linger, BEHIND_BOUND_S)
            while self._moving(deadline, loop):  # noqa: ASYNC110
                await asyncio.sleep(0)  # a yield, not a wait: the stream moves one event
        elif linger > 0 and not full.is_set():
            await stream.wait(full, timeout=linger)  # idle: company for the first event

    def hold(self) -> list[EventT[Any]]:
        self._handing = asyncio.get_running_loop().create_future()
        return list(self._events)

    async def hand_back(self, batch: list[EventT[Any]]) -> None:
        self._behind = self._parked or self._waiting()
        self._events.clear()
        self._first.clear()
        self._full.clear()
        for event in batch:
            await self._stream.ack(event)
        self._release()

    def abandon(self) -> None:
        """Let the stream go on without acking what the caller held."""
        self._events.clear()
        self._release()

    def _release(self) -> None:
        if self._handing is not None and not self._handing.done():
            self._handing.set_result(None)
        self._emptied.set()

    def _moving(self, deadline: float, loop: asyncio.AbstractEventLoop) -> bool:
        """Whether more waiting events may still join the batch being filled."""
        return (
            self._waiting()
            and not self._full.is_set()
            and not self._stream.should_stop
            and loop.time() < deadline
        )

    def _waiting(self) -> bool:
        return self._queue is not None and not self._queue.empty()
