"""A batch that failed for a reason no retry fixes: the worker exits without acking it.

Redis and broker errors are retried in place (``processors/app.py``). Any other exception
from a batch is a fault in riskwire or in data it cannot read (a grade written by a newer
release, say). Acking such a batch would commit events that were never applied, so the
worker logs the fault and exits with status 70 (EX_SOFTWARE), as a stalled worker does: its
supervisor restarts it, and the batch is delivered again from the last committed offset
(what was applied meanwhile is deduplicated). A fault that repeats keeps the partition's
lag growing and the restarts counting, where an operator sees it, instead of losing events.
"""

from __future__ import annotations

import os
import sys
from typing import Final, NoReturn

from core.telemetry import get_logger

FAILED_BATCH_EXIT: Final = 70  # EX_SOFTWARE: the supervisor restarts the worker
log = get_logger(__name__)


def exit_unacked(exc: BaseException, size: int) -> NoReturn:
    log.error(
        "batch failed with an unexpected error; exiting without acking it, so that it is "
        "delivered again to the restarted worker",
        size=size,
        error=repr(exc)[:2000],
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(FAILED_BATCH_EXIT)  # a graceful stop would commit what the agent acked
