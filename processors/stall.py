"""The stall watchdog: a worker whose consumer has stopped fetching exits, so that its
supervisor (Kubernetes, ``riskwire run``'s operator) starts a new one.

aiokafka, under faust, can come out of a broker crash holding input partitions it never
fetches from again (faust-streaming/faust#166, #503): the agent waits for events, the
group still counts the worker as alive, and the messages of its partitions wait forever.
``make chaos`` met it after a ``kill -9`` of one of three brokers. The watchdog sees it
from outside the consumer: the worker holds input partitions whose end offsets (asked of
the broker with ListOffsets, which needs no fetch) lie beyond its positions, while its
agent, waiting for events rather than working on a batch, has received none for
``RISKWIRE_WORKER_STALL_S``. It then logs an error and the worker exits with status 70;
whatever it had not committed is replayed by the worker that gets its partitions and
recognised there, as after any crash.

A worker retrying a batch (Redis down) is working, not stalled; a worker that cannot ask
the broker for end offsets proves nothing and is left alone.

>>> now = [0.0]
>>> watch = StallWatch(60.0, clock=lambda: now[0])
>>> now[0] = 100.0; watch.stalled(behind=5)  # nothing read for 100 s, with messages waiting
True
>>> watch.batch_started(); watch.stalled(behind=5)  # a batch in hand is work, however slow
False
>>> watch.batch_done(); now[0] = 130.0; watch.stalled(behind=5)
False
>>> now[0] = 200.0; watch.stalled(behind=0)  # idle and caught up: nothing is waiting
False
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

from core.telemetry import get_logger

STALL_EXIT: Final = 70  # EX_SOFTWARE: the supervisor restarts the worker
ASK_TIMEOUT_S: Final = 10.0
log = get_logger(__name__)


class StallWatch:
    """When the agent last made progress, and whether it holds a batch now."""

    def __init__(self, stall_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.stall_s, self._clock = stall_s, clock
        self._since = clock()
        self._busy = False

    def batch_started(self) -> None:
        self._busy, self._since = True, self._clock()

    def batch_done(self) -> None:
        self._busy, self._since = False, self._clock()

    def stalled(self, behind: int) -> bool:
        """Whether the agent, idle, has read nothing for ``stall_s`` although ``behind``
        messages wait on its partitions."""
        now = self._clock()
        if self._busy or behind <= 0:
            self._since = now  # working, or nothing to read: the clock starts again
            return False
        return now - self._since >= self.stall_s


async def unread(consumer: Any, topics: Sequence[str]) -> int | None:
    """Messages on the input partitions ``consumer`` holds beyond its positions; ``None``
    when the broker or the consumer cannot say (a rebalance, a broker away)."""
    try:
        tps = [tp for tp in consumer.assignment() if tp.topic in topics]
        if not tps:
            return 0
        ends = await asyncio.wait_for(consumer.highwaters(*tps), ASK_TIMEOUT_S)
        behind = 0
        for tp in tps:
            position = await asyncio.wait_for(consumer.position(tp), ASK_TIMEOUT_S)
            if position is None or tp not in ends:
                return None
            behind += max(0, ends[tp] - position)
        return behind
    except Exception as exc:  # never the reason to stop a worker
        log.info("stall check skipped", error=repr(exc)[:300])
        return None


async def check_stall(watch: StallWatch, consumer: Any, topics: Sequence[str]) -> None:
    """Exit the process (status 70) if the worker is stalled."""
    behind = await unread(consumer, topics)
    if behind is None or not watch.stalled(behind):
        return
    log.error(
        "worker stalled: its consumer has read nothing while messages wait; exiting so "
        "that a new worker takes its partitions",
        unread=behind,
        stall_s=watch.stall_s,
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(STALL_EXIT)  # the consumer is wedged: a graceful stop could wait on it forever
