"""One rules version replayed for ``riskwire backtest``: the recorded input through the
worker's own :class:`~processors.pipeline.BatchProcessor`, in process, on in-memory
stores, so nothing reaches Redis, Kafka, webhooks or the board.

The processor, its decoder, reducers, grading and rule engine are the live ones; only the
stores are in-memory (the profile and alert stores the pipeline's unit tests use, a grade
store that keeps each enterprise's latest grade with the live store's stale check, and an
early-warning model that learns each batch's labels after the batch, as the shared one
does in rounds). The two versions run side by side in two forked processes (or one after
the other), each reporting progress through a shared counter.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from typing import Final

from alerts.memory import MemoryAlertStore
from core.clock import SystemClock
from core.errors import BacktestError
from core.settings import Settings
from processors.grades import GradeChange, Recorded
from processors.pipeline import BatchProcessor, DeadLetter, Incoming
from processors.profiles.memory import MemoryProfileStore
from processors.runtime import topic_families
from rules.config import RulesConfig
from rules.early_warning import EarlyWarning
from rules.engine import RuleEngine
from rules.grading import Grade
from rules.models.checkpoint import Label, LearnResult
from rules.models.early_warning import EarlyWarningModel
from streams.codec import Decoder
from streams.identifiers import PersonKeyer

POLL_S: Final = 0.2
COLLECT_EVERY: Final = 100  # batches between two full passes of the cyclic collector


class ReplayFailed(BacktestError):
    """A version's replay raised or its process died."""


@dataclass(frozen=True, slots=True)
class SeenAlert:
    """What a backtest compares of one alert."""

    fingerprint: str
    rule_id: str
    departments: tuple[str, ...]
    subject: str  # "<kind>:<id>" (a person by its keyed hash)
    enterprises: tuple[str, ...]
    event_time: datetime
    title: str


@dataclass(slots=True)
class Outcome:
    """What one version made of the input: every alert it raised (resolved ones too, in
    the order they were created) and each enterprise's last grade letter."""

    version: str
    rules: frozenset[str]  # the rules this version runs
    alerts: list[SeenAlert]
    grades: dict[str, str]
    dead_letters: int
    seconds: float


class LatestGrades:
    """The pipeline's grade recorder, keeping only each enterprise's latest grade (a
    grade computed from an older profile than the stored one is stale, as in Redis)."""

    def __init__(self) -> None:
        self.now: dict[str, Grade] = {}
        self._basis: dict[str, int] = {}

    async def current(self, usccs: Collection[str]) -> dict[str, Grade]:
        return {u: self.now[u] for u in usccs if u in self.now}

    async def record(self, changes: Sequence[GradeChange]) -> list[Recorded]:
        out = []
        for change in changes:
            if self._basis.get(change.uscc, -1) > change.basis:
                out.append(Recorded.STALE)
                continue
            self._basis[change.uscc] = change.basis
            self.now[change.uscc] = change.current
            out.append(Recorded.CHANGED)
        return out


class LearningModel:
    """The early-warning model of a backtest: scores with what it learned so far and
    learns each label once, after the batch that scored it."""

    def __init__(self) -> None:
        self._model = EarlyWarningModel()
        self._learned: set[str] = set()

    async def model(self) -> EarlyWarningModel:
        return self._model

    async def offer(self, labels: Sequence[Label]) -> LearnResult | None:
        new = [label for label in labels if label.eid not in self._learned]
        for label in new:
            self._learned.add(label.eid)
            self._model.learn(label.x, label.violation)
        return LearnResult(len(new), len(labels) - len(new), len(self._learned), 0)


class CountedLetters:
    """Dead letters are counted, never published (the live DLQ is not a backtest's)."""

    def __init__(self) -> None:
        self.count = 0

    async def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        self.count += len(letters)


def _seen(alerts: MemoryAlertStore) -> list[SeenAlert]:
    first = sorted(alerts.by_id.values(), key=lambda a: (a.created_at, a.alert_id))
    return [
        SeenAlert(
            a.fingerprint,
            a.rule_id,
            tuple(a.departments),
            f"{a.subject.kind}:{a.subject.id}",
            tuple(a.enterprises),
            a.event_time,
            a.title,
        )
        for a in first
    ]


async def replay_version(
    config: RulesConfig,
    messages: Sequence[Incoming],
    settings: Settings,
    *,
    batch: int,
    tick: Callable[[int], None] = lambda done: None,
) -> Outcome:
    """Replay ``messages`` in batches of ``batch`` under ``config``."""
    started = time.perf_counter()
    engine = RuleEngine.from_config(config)
    alerts, grades, letters = MemoryAlertStore(), LatestGrades(), CountedLetters()
    keyer = PersonKeyer(settings.identity_secret.get_secret_value().encode())
    processor = BatchProcessor(
        decoder=Decoder(keyer, max_bytes=settings.max_message_bytes),
        families=topic_families(settings),
        store=MemoryProfileStore(),
        alerts=alerts,
        engine=engine,
        grades=grades,
        dead_letters=letters,
        clock=SystemClock(),
        model=LearningModel(),
        model_inputs=EarlyWarning.inputs,
    )
    with _collected_every(COLLECT_EVERY) as batch_done:
        for start in range(0, len(messages), batch):
            await processor.process(messages[start : start + batch])
            tick(min(start + batch, len(messages)))
            batch_done()
    return Outcome(
        version=config.version,
        rules=frozenset(r.rule_id for r in engine.rules),
        alerts=_seen(alerts),
        grades={uscc: g.grade for uscc, g in grades.now.items()},
        dead_letters=letters.count,
        seconds=time.perf_counter() - started,
    )


@contextmanager
def _collected_every(batches: int) -> Iterator[Callable[[], None]]:
    """The cyclic garbage collector off, but for one full pass every ``batches`` batches.

    A replay allocates millions of short-lived objects and makes almost no cycles (the
    pipeline avoids them), so the collector's automatic passes found next to nothing and
    cost a third of the replay's CPU time (73,190 events, both versions one after the
    other: 37.7 s of user time with them, 24.2 s without, the same peak memory).
    """
    done = 0

    def batch_done() -> None:
        nonlocal done
        done += 1
        if done % batches == 0:
            gc.collect()

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield batch_done
    finally:
        if was_enabled:
            gc.enable()


Progress = Callable[[int, int], None]  # (version index, messages done)


def run_versions(
    configs: Sequence[RulesConfig],
    messages: Sequence[Incoming],
    settings: Settings,
    *,
    batch: int,
    parallel: bool,
    progress: Progress,
) -> list[Outcome]:
    """Every config's :class:`Outcome`, in order: in forked processes when ``parallel``."""
    if not parallel:
        return [
            asyncio.run(
                replay_version(config, messages, settings, batch=batch, tick=_ticker(progress, i))
            )
            for i, config in enumerate(configs)
        ]
    return _forked(configs, messages, settings, batch=batch, progress=progress)


def _ticker(progress: Progress, index: int) -> Callable[[int], None]:
    return lambda done: progress(index, done)


def _child(
    config: RulesConfig,
    messages: Sequence[Incoming],
    settings: Settings,
    batch: int,
    done: Synchronized[int],
    conn: Connection,
) -> None:
    def tick(n: int) -> None:
        done.value = n

    try:
        outcome = asyncio.run(replay_version(config, messages, settings, batch=batch, tick=tick))
    except Exception as exc:  # reported to the parent, which fails the backtest
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    else:
        conn.send(("ok", outcome))
    finally:
        conn.close()


def _forked(
    configs: Sequence[RulesConfig],
    messages: Sequence[Incoming],
    settings: Settings,
    *,
    batch: int,
    progress: Progress,
) -> list[Outcome]:
    # fork: the children inherit the messages instead of receiving them pickled.
    ctx = multiprocessing.get_context("fork")
    counters = [ctx.Value("q", 0) for _ in configs]
    pipes = [ctx.Pipe(duplex=False) for _ in configs]
    children = [
        ctx.Process(
            target=_child,
            args=(config, messages, settings, batch, counter, send),
            name=f"backtest-{i}",
            daemon=True,
        )
        for i, (config, counter, (_, send)) in enumerate(zip(configs, counters, pipes, strict=True))
    ]
    for child in children:
        child.start()
    results: dict[int, tuple[str, object]] = {}
    try:
        while len(results) < len(children):
            for i, (recv, _) in enumerate(pipes):
                progress(i, counters[i].value)
                if i not in results and recv.poll(POLL_S / len(pipes)):
                    results[i] = recv.recv()
                elif i not in results and not children[i].is_alive() and not recv.poll():
                    results[i] = ("error", f"exited with status {children[i].exitcode}")
    finally:
        for child in children:
            child.join(timeout=5)
            if child.is_alive():
                child.terminate()
    outcomes: list[Outcome] = []
    for i in range(len(children)):
        status, value = results[i]
        if status != "ok" or not isinstance(value, Outcome):
            raise ReplayFailed(f"replaying rules version {configs[i].version} failed: {value}")
        progress(i, len(messages))
        outcomes.append(value)
    return outcomes
