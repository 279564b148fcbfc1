"""Where a batch's time goes: each stage of :class:`~processors.pipeline.BatchProcessor`,
summed over the batch and observed once per batch, so that the per-event cost is two clock
reads in the loops that score and evaluate (no metric label is looked up there).

>>> clock = iter([0.0, 0.25, 0.25, 1.0]).__next__
>>> times = StageTimes(clock)
>>> with times.stage(Stage.DECODE):
...     pass
>>> times.add(Stage.RULES, clock() - clock())
>>> times.spent[Stage.DECODE]
0.25
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from core.telemetry import BATCH_STAGE_SECONDS


class Stage(enum.StrEnum):
    DECODE = "decode"  # bytes to events, dead letters out
    APPLY = "apply"  # load, fold, commit profiles; indices
    READ = "read"  # the facts the rules need: enterprises, people, hubs, current grades
    GRADE = "grade"  # regrade each enterprise once
    SCORE = "score"  # the early-warning model's features and score
    RULES = "rules"  # the rule engine
    REEVALUATE = "reevaluate"  # changed hubs judged, their dependents' shared rules re-run
    WRITE = "write"  # alerts, closures, grades, model labels


# Bound once: observing a child costs no label lookup.
_HISTOGRAMS = {stage: BATCH_STAGE_SECONDS.labels(stage.value) for stage in Stage}


class StageTimes:
    __slots__ = ("_clock", "spent")

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self.spent: dict[Stage, float] = dict.fromkeys(Stage, 0.0)

    @contextmanager
    def stage(self, stage: Stage) -> Iterator[None]:
        started = self._clock()
        try:
            yield
        finally:
            self.spent[stage] += self._clock() - started

    def add(self, stage: Stage, seconds: float) -> None:
        self.spent[stage] += seconds

    def lap(self, stage: Stage, since: float) -> float:
        """Charge the time since ``since`` to ``stage``; answers now (the next lap's start)."""
        now = self._clock()
        self.spent[stage] += now - since
        return now

    def observe(self) -> None:
        """One observation per stage the batch went through."""
        for stage, seconds in self.spent.items():
            if seconds > 0:
                _HISTOGRAMS[stage].observe(seconds)
