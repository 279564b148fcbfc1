"""One batch of input messages, from bytes to alerts, in a fixed number of Redis round trips.

::

    decode ─┬─> dead letters (riskwire.dlq)                        processors/decode.py
            └─> events ─> load profiles + dedup flags ─> apply reducers ─> commit (CAS)
                                                                    processors/apply.py
                 ─> finish indices                                  processors/indices.py
                 ─> fan out person events, changed hubs' dependents processors/plan.py
                 ─> read facts (enterprises, people, hubs, grades)  processors/reads.py
                 ─> grade ─> score ─> evaluate rules   processors/facts.py, score.py, evaluate.py
                 ─> fold + upsert alerts (+ feed), record grades, judge again what moved
                                                        alerts/fold.py, processors/judge.py
                 ─> close the deregistered's alerts                 alerts/deregistered.py
                 ─> offer labels to the model (processors/judge.py) ──> relay publishes

Events already applied (a redelivery, a replay after a crash) change no profile, but are
still evaluated against the current profile: an alert whose write a crash interrupted is
then written, and one that was written gains nothing and is not published again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Mapping, Sequence

from alerts.deregistered import DEREGISTERED, close_deregistered
from alerts.fold import AlertFold, AlertWriter
from core.clock import Clock
from core.round_trips import counting_round_trips
from core.telemetry import BATCH_ROUND_TRIPS, BATCH_SECONDS, BATCH_SIZE
from processors.apply import apply
from processors.batch import BatchReport, DeadLetter, Incoming
from processors.decode import Decode
from processors.dependents import DEFAULT_FANOUT_CAP
from processors.evaluate import Evaluate
from processors.facts import Grading
from processors.judge import Judge
from processors.plan import Planner
from processors.ports import DeadLetterSink, GradeRecorder, SourceClock, WarningModel
from processors.profiles.cache import ProfileCache
from processors.reads import Reads
from processors.score import Scoring
from processors.shadow import ShadowLane
from processors.stages import Stage, StageTimes
from rules.engine import RuleEngine
from streams.codec import Decoder
from streams.profile_store import ProfileStore
from streams.schemas.common import Family

__all__ = [
    "AlertWriter",
    "BatchProcessor",
    "BatchReport",
    "DeadLetter",
    "DeadLetterSink",
    "GradeRecorder",
    "Incoming",
    "SourceClock",
    "WarningModel",
]


class BatchProcessor:
    def __init__(
        self,
        *,
        decoder: Decoder,
        families: Mapping[str, Family],
        store: ProfileStore,
        alerts: AlertWriter,
        engine: RuleEngine,
        grades: GradeRecorder,
        dead_letters: DeadLetterSink,
        clock: Clock,
        model: WarningModel | None = None,
        model_inputs: Collection[str] = frozenset(),
        fanout_cap: int = DEFAULT_FANOUT_CAP,
        sources: SourceClock | None = None,
        shadow: ShadowLane | None = None,
        cache: ProfileCache | None = None,
    ) -> None:
        self._decode = Decode(decoder, families, dead_letters, sources)
        self._store = store
        self._cache = cache = ProfileCache() if cache is None else cache
        self._alerts = alerts
        self._clock = clock
        self._planner = Planner(store, engine, fanout_cap)
        self._scoring = Scoring(model, model_inputs)
        evaluate = Evaluate(
            engine,
            Reads(store, engine, grades, shadow, cache),
            Grading(engine, shadow),
            self._scoring,
            shadow,
        )
        fold = AlertFold(alerts, clock)
        self._judge = Judge(evaluate, fold, grades, store, engine, self._scoring)
        self._shadow = shadow

    async def process(self, batch: Sequence[Incoming]) -> BatchReport:
        with counting_round_trips() as trips, self._cache.batch():
            report = await self._process(batch)
        BATCH_ROUND_TRIPS.observe(trips.count)
        report.round_trips = trips.count
        return report

    async def _process(self, batch: Sequence[Incoming]) -> BatchReport:
        started = time.perf_counter()
        report, times = BatchReport(), StageTimes()
        with times.stage(Stage.DECODE):
            events, letters = self._decode.decode(batch)
        report.accepted, report.dead_lettered = len(events), len(letters)
        if letters:
            with times.stage(Stage.WRITE):
                await self._decode.dead_letter(letters)
        if events:
            with times.stage(Stage.APPLY):
                profiles, duplicates, beyond, indexed, versions = await apply(
                    self._store, events, self._cache
                )
            if beyond:
                events = await self._decode.refuse_beyond_horizon(events, beyond)
                report.dead_lettered += len(beyond)
            report.duplicates = len(duplicates)
            report.applied = len(events) - len(duplicates)
            with times.stage(Stage.READ):
                plan = await self._planner.plan(events, profiles, indexed)
            report.alerts = await self._judge.judge(plan, profiles, versions, times)
            with times.stage(Stage.WRITE):
                gone = [(ev, m.timestamp_ms) for m, ev in events if ev.type == DEREGISTERED]
                # Two independent writes, in one round trip (the judge offered the labels).
                closed, _ = await asyncio.gather(
                    close_deregistered(self._alerts, self._clock, gone),
                    self._shadow.flush() if self._shadow is not None else _nothing(),
                )
                report.alerts += closed
        BATCH_SIZE.observe(len(batch))
        BATCH_SECONDS.observe(time.perf_counter() - started)
        times.observe()
        return report


async def _nothing() -> None:
    return None
