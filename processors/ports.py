"""What :class:`~processors.pipeline.BatchProcessor` needs of the stores around it, besides
the profile store (:mod:`streams.profile_store`) and the alert writer
(:mod:`alerts.fold`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Protocol

from processors.batch import DeadLetter
from processors.grades import GradeChange, Recorded
from rules.grading import Grade
from rules.models.checkpoint import Label, LearnResult
from rules.models.early_warning import EarlyWarningModel


class DeadLetterSink(Protocol):
    async def dead_letter(self, letters: Sequence[DeadLetter]) -> None: ...


class GradeRecorder(Protocol):
    async def current(self, usccs: Collection[str]) -> dict[str, Grade]: ...

    async def record(self, changes: Sequence[GradeChange]) -> list[Recorded]: ...


class WarningModel(Protocol):
    """The shared early-warning model (``rules.models.checkpoint.ModelStore``)."""

    async def model(self) -> EarlyWarningModel: ...

    async def offer(self, labels: Sequence[Label]) -> LearnResult | None:
        """Queue labels durably; the model learns them in rounds, each label once."""
        ...


class SourceClock(Protocol):
    """Told, per batch, the newest Kafka time and the number of events of each (topic,
    source) it accepted."""

    def note(self, seen: Mapping[tuple[str, str], tuple[int, int]]) -> None: ...
