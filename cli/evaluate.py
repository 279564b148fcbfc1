"""``riskwire evaluate``: play a simulated population through the running engine and score
what comes out against its ground truth.

1. A seeded simulation (:mod:`simulate`) is produced to the configured input
   topics. At every month boundary of the simulated period the producer waits until the
   worker has drained (the ``processed`` counter of ``rw:stats:v1`` reaches what was
   produced): the four topics are consumed independently, and this keeps facts a month or
   more apart in business-time order, as they would be live.
2. Every alert is read from ``rw:{alerts}:doc:v1`` (resolved ones too), every grade from
   ``rw:{ent:<uscc>}:grade:v1``, and the early-warning model's prequential ROC AUC from
   its checkpoint (``rw:{model:…}``, field ``auc``). Without a model checkpoint the AUC is
   computed from the ``early_warning`` alerts against the inspection labels.
3. A per-rule table is printed and, last, one line::

    min_rule_precision=<n> min_rule_recall=<n> early_warning_auc=<n> grade_mix=A:<n>,…,D:<n>

(``grade_mix``: the share of the graded enterprises at each letter, 3 decimals.)

Precision and recall count only alerts on planted subjects (the cases and their
near-misses); the table also shows every alert of each rule on the simulated population.
Rules the engine does not have are reported as not implemented and left out of the minima.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import orjson
import redis as redis_sync
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

from alerts.store import DOC_KEY
from core.errors import RiskwireError
from core.redis_client import sync_client
from core.settings import Settings
from processors.progress import STATS_KEY
from simulate.calendar import START, to_datetime
from simulate.command import person_keyer
from simulate.population import scale_named
from simulate.stream import Simulation
from simulate.truth import (
    RuleScore,
    Truth,
    grade_mix,
    roc_auc,
    score_rules,
    summary_line,
)
from simulate.writer import KafkaSink, progress_bar

DEFAULT_SCALE: Final = "medium"  # ~350k events: about 4 minutes on 2 cores
STALL_TIMEOUT_S: Final = 120.0
POLL_S: Final = 0.05
REPORT_WIDTH: Final = 120
PROGRESS_EVERY: Final = 2_000
MODEL_KEYS: Final = "rw:{model:*"  # rules.models.checkpoint: hash with 'auc' and 'n'
BARRIERS_FROM: Final = START.strftime("%Y-%m")


class NotDrained(RiskwireError):
    """The worker stopped making progress before it had processed what was produced."""


def grade_key(uscc: str) -> str:
    """``processors.grades.current_key``, spelled out so evaluation works without grading."""
    return f"rw:{{ent:{uscc}}}:grade:v1"


@dataclass(frozen=True, slots=True)
class Evaluation:
    scores: list[RuleScore]
    auc: float | None
    auc_source: str
    grade_mix: dict[str, float]
    graded: int
    produced: int
    seconds: float

    @property
    def line(self) -> str:
        return summary_line(self.scores, self.auc, self.grade_mix)


def evaluate_command(
    settings: Settings,
    *,
    scale: str = DEFAULT_SCALE,
    enterprises: int | None = None,
    seed: int = 2017,
    stall_timeout: float = STALL_TIMEOUT_S,
    truth: Path | None = None,
    console: Console | None = None,
) -> int:
    """Run an evaluation against the deployment ``settings`` describe; the exit status."""
    if console is None:
        console = Console(highlight=False)
        if not console.is_terminal:
            console.width = max(console.width, REPORT_WIDTH)  # the table whole in a log file
    try:
        chosen = scale_named(scale, enterprises)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    with console.status("building the population and planting the cases"):
        sim = Simulation(chosen, seed, person_keyer(settings))
    console.print(
        f"evaluating {len(sim.population.enterprises):,} enterprises (scale {sim.scale.name}, "
        f"seed {seed}) against Kafka {settings.kafka_bootstrap} and {settings.redis_url}"
    )
    try:
        result = run_evaluation(settings, sim, console=console, stall_timeout=stall_timeout)
    except NotDrained as exc:
        console.print(f"[red]{exc}[/red]")
        return 1
    if truth is not None:
        truth.write_bytes(sim.truth.to_json())
    render(result, console)
    print(result.line, flush=True)  # plain print: the last line must never be wrapped
    return 0


def run_evaluation(
    settings: Settings,
    sim: Simulation,
    *,
    console: Console | None = None,
    stall_timeout: float = STALL_TIMEOUT_S,
) -> Evaluation:
    from rules.engine import default_rules

    started = time.monotonic()
    implemented = {rule.rule_id for rule in default_rules()}
    client = sync_client(settings.redis_url)
    try:
        produced = play(settings, sim, client, console=console, stall_timeout=stall_timeout)
        population = set(sim.truth.population)
        fired, totals, warnings = tally(read_alerts(client), population)
        scores = score_rules(sim.truth, fired, totals, implemented)
        grades = read_grades(client, sim.truth.population)
        auc, source = model_auc(client), "model checkpoint"
        if auc is None and "early_warning" in implemented:
            auc, source = alerts_auc(sim.truth, warnings), "early_warning alerts"
        return Evaluation(
            scores=scores,
            auc=auc,
            auc_source=source if auc is not None else "n/a",
            grade_mix=grade_mix(grades),
            graded=len(grades),
            produced=produced,
            seconds=time.monotonic() - started,
        )
    finally:
        client.close()


# -- playing ------------------------------------------------------------------------------


def processed(client: redis_sync.Redis) -> int:
    return int(client.hget(STATS_KEY, "processed") or 0)


def play(
    settings: Settings,
    sim: Simulation,
    client: redis_sync.Redis,
    *,
    console: Console | None = None,
    stall_timeout: float = STALL_TIMEOUT_S,
) -> int:
    """Produce the simulation, draining the worker at each month boundary; how many."""
    baseline = processed(client)
    sink = KafkaSink(settings)
    month = ""
    try:
        with progress_bar(console) as progress:
            sent = progress.add_task("produced", total=sim.estimated_events())
            done = progress.add_task("processed by the worker", total=sim.estimated_events())
            for event in sim.events():
                this_month = event["time"][:7]
                if this_month != month and this_month >= BARRIERS_FROM:
                    sink.flush()
                    _drain(client, baseline, sink.sent, progress, done, stall_timeout)
                    month = this_month
                sink.write(event)
                if sink.sent % PROGRESS_EVERY == 0:
                    progress.update(sent, completed=sink.sent)
            progress.update(sent, completed=sink.sent, total=sink.sent)
            progress.update(done, total=sink.sent)
            sink.flush()
            _drain(client, baseline, sink.sent, progress, done, stall_timeout)
    finally:
        sink.close()
    return sink.sent


def _drain(
    client: redis_sync.Redis,
    baseline: int,
    target: int,
    progress: Progress,
    task: TaskID,
    stall_timeout: float,
) -> None:
    last, last_change = -1, time.monotonic()
    while True:
        count = processed(client) - baseline
        progress.update(task, completed=min(count, target))
        if count >= target:
            return
        now = time.monotonic()
        if count != last:
            last, last_change = count, now
        elif now - last_change > stall_timeout:
            raise NotDrained(
                f"the worker processed {max(count, 0):,} of {target:,} events and made no "
                f"progress for {stall_timeout:.0f} s: is `riskwire worker` running with "
                "these settings (topics, Redis database)?"
            )
        time.sleep(POLL_S)


# -- reading what came out ----------------------------------------------------------------


def read_alerts(client: redis_sync.Redis) -> Iterator[dict[str, Any]]:
    """Every alert document, open or not."""
    for _, doc in client.hscan_iter(DOC_KEY, count=1_000):
        yield orjson.loads(doc)


def tally(
    alerts: Iterator[Mapping[str, Any]], population: set[str]
) -> tuple[dict[str, set[str]], dict[str, int], dict[str, datetime]]:
    """Fingerprints per rule, alerts per rule on ``population``, and when each enterprise
    first got an ``early_warning``."""
    fired: dict[str, set[str]] = defaultdict(set)
    totals: dict[str, int] = defaultdict(int)
    warnings: dict[str, datetime] = {}
    for alert in alerts:
        rule = alert["rule_id"]
        fired[rule].add(alert["fingerprint"])
        if population.intersection(alert.get("enterprises") or ()):
            totals[rule] += 1
        if rule == "early_warning":
            uscc = alert["subject"]["id"]
            at = datetime.fromisoformat(alert["event_time"])
            warnings[uscc] = min(at, warnings.get(uscc, at))
    return fired, totals, warnings


def read_grades(client: redis_sync.Redis, usccs: list[str], chunk: int = 2_000) -> list[str]:
    """The current grade letter of each enterprise that has one."""
    out: list[str] = []
    for start in range(0, len(usccs), chunk):
        part = usccs[start : start + chunk]
        pipe = client.pipeline(transaction=False)
        for uscc in part:
            pipe.hget(grade_key(uscc), "grade")
        for uscc, value in zip(part, pipe.execute(raise_on_error=False), strict=True):
            if isinstance(value, Exception):  # a grade stored as a JSON string
                value = orjson.loads(client.get(grade_key(uscc)) or b"{}").get("grade")
            if value:
                out.append(value.decode() if isinstance(value, bytes) else str(value))
    return out


def model_auc(client: redis_sync.Redis) -> float | None:
    """The prequential AUC of the early-warning model checkpoint that learned the most."""
    best: tuple[int, float] | None = None
    for key in client.scan_iter(match=MODEL_KEYS, count=1_000):
        if client.type(key) != b"hash":
            continue
        auc, n = client.hmget(key, ["auc", "n"])
        if auc and (best is None or int(n or 0) > best[0]):
            best = (int(n or 0), float(auc))
    return best[1] if best else None


def alerts_auc(truth: Truth, warnings: Mapping[str, datetime]) -> float | None:
    """AUC of "warned before the inspection" against what each inspection found."""
    scored = [
        (1.0 if uscc in warnings and warnings[uscc] <= to_datetime(stamp) else 0.0, label)
        for uscc, stamp, label in truth.labels
    ]
    return roc_auc(scored)


# -- reporting ----------------------------------------------------------------------------


def render(result: Evaluation, console: Console) -> None:
    table = Table(title="riskwire evaluation: planted cases per rule")
    for column in ("rule", "status", "must fire", "must not", "TP", "FP", "FN"):
        table.add_column(column, justify="left" if column in ("rule", "status") else "right")
    for column in ("precision", "recall", "alerts (all)"):
        table.add_column(column, justify="right")
    for s in result.scores:
        scored = s.status.value != "not implemented"
        table.add_row(
            s.rule_id,
            s.status.value,
            str(s.expected),
            str(s.forbidden),
            *(
                (str(s.true_positives), str(s.false_positives), str(s.false_negatives))
                if scored
                else ("-", "-", "-")
            ),
            f"{s.precision:.3f}" if scored else "-",
            f"{s.recall:.3f}" if scored else "-",
            f"{s.alerts:,}",
        )
    console.print(table)
    mix = ", ".join(f"{g} {share:.1%}" for g, share in result.grade_mix.items())
    auc = f"{result.auc:.3f} ({result.auc_source})" if result.auc is not None else "n/a"
    console.print(
        f"{result.produced:,} events in {result.seconds:,.1f} s; "
        f"{result.graded:,} enterprises graded: {mix}; early-warning AUC {auc}"
    )
