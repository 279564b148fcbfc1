"""What every test that drives a :class:`BatchProcessor` shares: the topics' families, the
dead-letter sinks, a processor with in-memory defaults, and a feeder that hands it contract
events as one batch of Kafka messages."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from alerts.memory import MemoryAlertStore
from core.clock import Clock, FakeClock
from processors.dependents import DEFAULT_FANOUT_CAP
from processors.grades import MemoryGradeStore
from processors.pipeline import (
    AlertWriter,
    BatchProcessor,
    BatchReport,
    DeadLetter,
    DeadLetterSink,
    GradeRecorder,
    Incoming,
    SourceClock,
    WarningModel,
)
from processors.profiles.memory import MemoryProfileStore
from processors.shadow import ShadowLane
from rules.engine import RuleEngine, default_rules
from streams.codec import Decoder
from streams.kafka import topic_for
from streams.profile_store import ProfileStore
from streams.schemas.common import Family

FAMILIES = {
    "registration.changes": Family.REGISTRATION,
    "court.filings": Family.COURT,
    "tax.events": Family.TAX,
    "enforcement.uploads": Family.ENFORCEMENT,
}
T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


class CollectedLetters:
    """Keeps what was dead-lettered, for tests of bad input."""

    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    async def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        self.letters += letters


class NoLetters:
    """For tests whose input is all valid: a dead letter fails the test."""

    async def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        raise AssertionError(f"dead-lettered: {letters}")


def processor(
    decoder: Decoder,
    *,
    store: ProfileStore | None = None,
    alerts: AlertWriter | None = None,
    grades: GradeRecorder | None = None,
    engine: RuleEngine | None = None,
    dead_letters: DeadLetterSink | None = None,
    clock: Clock | None = None,
    model: WarningModel | None = None,
    model_inputs: Collection[str] = frozenset(),
    sources: SourceClock | None = None,
    shadow: ShadowLane | None = None,
    fanout_cap: int = DEFAULT_FANOUT_CAP,
) -> BatchProcessor:
    """A processor on in-memory stores, every rule and a fake clock, unless told otherwise."""
    return BatchProcessor(
        decoder=decoder,
        families=FAMILIES,
        store=store if store is not None else MemoryProfileStore(),
        alerts=alerts if alerts is not None else MemoryAlertStore(),
        engine=engine if engine is not None else RuleEngine(default_rules()),
        grades=grades if grades is not None else MemoryGradeStore(),
        dead_letters=dead_letters if dead_letters is not None else NoLetters(),
        clock=clock if clock is not None else FakeClock(T0),
        model=model,
        model_inputs=model_inputs,
        sources=sources,
        shadow=shadow,
        fanout_cap=fanout_cap,
    )


class Feeder:
    """Hands a processor events (dicts, or raw bytes for bad input) as one batch, each a
    message at the next offset of its event type's topic."""

    def __init__(self, processor: BatchProcessor) -> None:
        self.processor = processor
        self.offset = 0

    def message(self, ev: dict[str, Any] | bytes, topic: str | None = None) -> Incoming:
        self.offset += 1
        if isinstance(ev, bytes):
            return Incoming(topic or "registration.changes", 0, self.offset, None, ev, 1_000)
        value = orjson.dumps(ev)
        return Incoming(topic or topic_for(ev["type"]), 0, self.offset, None, value, 1_000)

    async def feed(self, *events: dict[str, Any] | bytes) -> BatchReport:
        return await self.processor.process([self.message(e) for e in events])
