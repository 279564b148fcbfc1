"""Keeping the worker's background tasks and timers alive.

faust restarts a crashed agent, but a crashed ``app.task`` stays dead (an alert relay that
stopped on one error left ``riskwire.alerts`` silent) and a timer that raises is a crash
too. Each task runs under :func:`keep_running` (:func:`core.supervise.supervise`, stopping
when the task returns) and each timer under :func:`reported`: an error is counted
(``riskwire_task_restarts_total``) and logged, and the work goes on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from core.supervise import Backoff, supervise
from core.telemetry import TASK_RESTARTS, get_logger

log = get_logger(__name__)

RESTART_BACKOFF = Backoff(first_s=1.0, max_s=1.0)  # a worker task restarts a second later


async def keep_running(
    name: str, run: Callable[[], Awaitable[None]], *, backoff: Backoff = RESTART_BACKOFF
) -> None:
    """Await ``run()`` until it returns; restart it after any error."""
    await supervise(name, run, backoff=backoff, stop_on_return=True)


async def reported(name: str, run: Callable[[], Awaitable[object]]) -> None:
    """Await one round of a timer; an error is counted and logged, the next round runs."""
    restarts = TASK_RESTARTS.labels(name)  # the series exists, at 0, before the first error
    try:
        await run()
    except Exception as exc:
        restarts.inc()
        log.error("worker timer failed", task=name, error=repr(exc)[:500])
