"""Supervised background tasks: a task that fails is logged, counted
(``riskwire_task_restarts_total``) and started again after a growing pause, for the life of
the process. The API's feed tail and the worker's tasks and timers
(:mod:`processors.supervise`) all run under it.

A long-lived task (the API's live-feed tail) must never die of one error and leave the
process running without it. ``supervise`` restarts it; the task itself keeps what it needs
to resume (the feed its last sequence number) and says whether it is up (readiness).

>>> [Backoff().delay(n) for n in (1, 2, 3, 4, 5, 6, 7)]
[0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.backoff import growing_delay
from core.telemetry import TASK_RESTARTS, get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Pauses before restarts: ``first_s``, doubling to ``max_s``; a run that lasted
    ``stable_s`` or more starts the count again."""

    first_s: float = 0.25
    max_s: float = 5.0
    stable_s: float = 10.0

    def delay(self, failures: int) -> float:
        return growing_delay(failures, first_s=self.first_s, cap_s=self.max_s)


DEFAULT_BACKOFF = Backoff()


async def supervise(
    name: str,
    run: Callable[[], Awaitable[None]],
    *,
    backoff: Backoff = DEFAULT_BACKOFF,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    stop_on_return: bool = False,
) -> None:
    """Run ``run()`` for ever: whenever it raises, or returns, start it again after
    :meth:`Backoff.delay`. Only cancellation stops it, or, with ``stop_on_return``, a
    ``run()`` that returns (a task that ends when its own stop signal is set)."""
    TASK_RESTARTS.labels(name)  # the series exists, at 0, before the first restart
    failures = 0
    while True:
        started = monotonic()
        error = "returned"
        try:
            await run()
            if stop_on_return:
                return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        failures = 1 if monotonic() - started >= backoff.stable_s else failures + 1
        delay = backoff.delay(failures)
        TASK_RESTARTS.labels(name).inc()
        log.warning(
            "task stopped, restarting",
            task=name,
            error=error[:500],
            failures=failures,
            restart_in_s=delay,
        )
        await sleep(delay)
