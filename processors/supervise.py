"""Keeping the worker's background tasks and timers alive.

faust restarts a crashed agent, but a crashed ``app.task`` stays dead (an alert relay that
stopped on one error left ``riskwire.alerts`` silent) and a timer that raises is a crash
too. Each task runs under :func:`keep_running` and each timer under :func:`reported`: an
error is counted (``riskwire_worker_task_errors_total``) and logged, and the work goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from core.telemetry import WORKER_TASK_ERRORS, get_logger

log = get_logger(__name__)

RESTART_DELAY_S = 1.0


async def keep_running(
    name: str, run: Callable[[], Awaitable[None]], *, delay_s: float = RESTART_DELAY_S
) -> None:
    """Await ``run()`` until it returns; restart it ``delay_s`` after any error."""
    while True:
        try:
            await run()
            return
        except Exception as exc:
            WORKER_TASK_ERRORS.labels(name).inc()
            log.error("worker task failed, restarting it", task=name, error=repr(exc)[:500])
            await asyncio.sleep(delay_s)


async def reported(name: str, run: Callable[[], Awaitable[object]]) -> None:
    """Await one round of a timer; an error is counted and logged, the next round runs."""
    try:
        await run()
    except Exception as exc:
        WORKER_TASK_ERRORS.labels(name).inc()
        log.error("worker timer failed", task=name, error=repr(exc)[:500])
