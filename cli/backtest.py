"""``riskwire backtest``: try a candidate rules file on recorded input before it goes live.

The input (the input topics' retained history, or ``--input`` a file of ``riskwire
simulate --out``) is replayed twice through the worker's own processing code
(:mod:`cli.backtest_run`): once under the live rules (the rules file with the
deployment's live overrides, or ``--baseline``) and once under the candidate, each in an
isolated in-process namespace: no Redis key, Kafka topic, webhook or board sees it. The
report (:mod:`cli.backtest_diff`) is a set of tables on the terminal, or with ``--json``
one line of JSON, and always last::

    alerts_added=<n> alerts_removed=<n> grades_changed=<n> events=<n> seconds=<n>

Exit status 0; 2 for a bad candidate, baseline, option or input; 1 when the period holds
no event or a replay failed.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TextIO

import orjson
from rich.console import Console
from rich.table import Table

from cli.backtest_diff import (
    LETTERS,
    alert_change,
    examples,
    grade_matrix,
    in_period,
    inspection_scores,
    near_misses_caught,
    planted_scores,
)
from cli.backtest_input import Period, Replay, from_file, from_topics, parse_time
from cli.backtest_run import Outcome, ReplayFailed, run_versions
from core.errors import BacktestError, ConfigError
from core.settings import Settings
from rules.config import RulesConfig, load_rules_config
from simulate.truth import Truth
from simulate.writer import progress_bar

REPORT_WIDTH: Final = 120


class EmptyPeriod(BacktestError):
    """No event of the input lies in the period."""


@dataclass(frozen=True, slots=True)
class Options:
    candidate: Path
    baseline: Path | None = None
    start: str | None = None
    end: str | None = None
    input_file: Path | None = None
    truth: Path | None = None
    as_json: bool = False
    batch: int | None = None
    parallel: bool = True


def backtest_command(
    settings: Settings,
    options: Options,
    *,
    console: Console | None = None,
    out: TextIO | None = None,
) -> int:
    """Run a backtest; the exit status. Tables and progress go to ``console`` (stderr
    by default), the JSON and the summary line to ``out`` (stdout)."""
    out = out or sys.stdout
    if console is None:
        console = Console(stderr=True, highlight=False)
        if not console.is_terminal:
            console.width = max(console.width, REPORT_WIDTH)
    started = time.monotonic()
    try:
        report = run_backtest(settings, options, console)
    except (EmptyPeriod, ReplayFailed) as exc:
        console.print(f"[red]{exc}[/red]")
        return 1
    except (BacktestError, ConfigError) as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    report["seconds"] = round(time.monotonic() - started, 1)
    if options.as_json:
        out.write(orjson.dumps(report).decode() + "\n")
    else:
        render(report, console)
    out.write(summary_line(report) + "\n")
    out.flush()
    return 0


def summary_line(report: dict[str, Any]) -> str:
    return (
        f"alerts_added={report['alerts_added']} alerts_removed={report['alerts_removed']} "
        f"grades_changed={report['grades']['changed']} events={report['events']} "
        f"seconds={report['seconds']}"
    )


def live_config(settings: Settings, baseline: Path | None) -> tuple[RulesConfig, str]:
    """The rules the deployment runs now: ``baseline`` when given, else the rules file (or
    the defaults) with the live overrides read from Redis (read only)."""
    if baseline is not None:
        return load_rules_config(baseline), str(baseline)
    from redis.exceptions import RedisError

    from core.redis_client import sync_client
    from rules.live import RULES_KEY, Overrides, effective, rules_config_from_settings

    base = rules_config_from_settings(settings)
    client = sync_client(settings.redis_url, socket_connect_timeout=3, socket_timeout=10)
    try:
        doc, ver = client.hmget(RULES_KEY, ["doc", "ver"])
    except RedisError as exc:
        raise BacktestError(
            f"cannot read the live rule overrides from Redis ({type(exc).__name__}); "
            "give --baseline RULES.toml to compare against a file instead"
        ) from None
    finally:
        client.close()
    stored = orjson.loads(doc) if doc else {}
    # A promoted shadow candidate may have put grade weights in the live doc as well.
    live = Overrides(int(ver or 0), stored.get("rules", {}), grading=stored.get("grading"))
    where = str(settings.rules_file) if settings.rules_file else "the defaults"
    return effective(base, live), f"{where} + overrides v{live.version}"


def _read_truth(path: Path) -> Truth:
    try:
        return Truth.from_json(path.read_bytes())
    except OSError as exc:
        raise BacktestError(f"{path}: cannot read the truth: {exc.strerror}") from None
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise BacktestError(f"{path}: not a truth file of riskwire simulate: {exc}") from None


def _replay(settings: Settings, options: Options, period: Period, console: Console) -> Replay:
    where = str(options.input_file) if options.input_file else "the input topics"
    with console.status(f"reading {where}"):
        if options.input_file is not None:
            replay = from_file(options.input_file, settings, period)
        else:
            replay = from_topics(settings, period)
    if replay.in_period == 0:
        raise EmptyPeriod(
            f"no events in {where} from {period.describe()} "
            f"({replay.warmup:,} before it, {replay.after:,} after it): nothing to compare"
        )
    return replay


def run_backtest(settings: Settings, options: Options, console: Console) -> dict[str, Any]:
    """Load both versions, replay, and answer the report (without ``seconds``)."""
    try:
        candidate = load_rules_config(options.candidate)
    except ConfigError as exc:
        raise BacktestError(f"the candidate rules file is refused: {exc}") from None
    live, live_source = live_config(settings, options.baseline)
    period = Period(parse_time(options.start, "--from"), parse_time(options.end, "--to"))
    truth = _read_truth(options.truth) if options.truth else None
    replay = _replay(settings, options, period, console)
    console.print(
        f"replaying {len(replay.messages):,} events ({replay.warmup:,} before the period) "
        f"under live {live.version} ({live_source}) and candidate {candidate.version} "
        f"({options.candidate})"
    )
    batch = options.batch or settings.worker_batch_max
    with progress_bar(console) as progress:
        tasks = [
            progress.add_task(f"{name} {cfg.version}", total=len(replay.messages))
            for name, cfg in (("live", live), ("candidate", candidate))
        ]
        outcomes = run_versions(
            [live, candidate],
            replay.messages,
            settings,
            batch=batch,
            parallel=options.parallel,
            progress=lambda i, n: progress.update(tasks[i], completed=n),
        )
    return build_report(outcomes, replay, period, truth, sources=(live_source, options))


def _version(outcome: Outcome, source: str, alerts: int) -> dict[str, Any]:
    return {
        "version": outcome.version,
        "source": source,
        "alerts": alerts,
        "enterprises_graded": len(outcome.grades),
        "dead_letters": outcome.dead_letters,
        "seconds": round(outcome.seconds, 1),
    }


def build_report(
    outcomes: list[Outcome],
    replay: Replay,
    period: Period,
    truth: Truth | None,
    *,
    sources: tuple[str, Options],
) -> dict[str, Any]:
    live, candidate = outcomes
    change = alert_change(live, candidate, period)
    alerts = [in_period(o.alerts, period) for o in outcomes]
    report: dict[str, Any] = {
        "live": _version(live, sources[0], len(alerts[0])),
        "candidate": _version(candidate, str(sources[1].candidate), len(alerts[1])),
        "period": {
            "from": period.start.isoformat() if period.start else None,
            "to": period.end.isoformat() if period.end else None,
        },
        "events": replay.in_period,
        "warmup_events": replay.warmup,
        "alerts_added": len(change.added),
        "alerts_removed": len(change.removed),
        "by_rule_department": change.by_rule_department(),
        "examples": {
            "added": examples(change.added, truth),
            "removed": examples(change.removed, truth),
        },
        "grades": grade_matrix(live.grades, candidate.grades),
        "inspections": {
            "live": inspection_scores(alerts[0], replay.labels),
            "candidate": inspection_scores(alerts[1], replay.labels),
        },
    }
    if truth is not None:
        report["planted"] = {
            "near_misses_caught": near_misses_caught(change.added, truth),
            "live": planted_scores(live, alerts[0], truth),
            "candidate": planted_scores(candidate, alerts[1], truth),
        }
    return report


# -- the terminal ---------------------------------------------------------------------------


def render(report: dict[str, Any], console: Console) -> None:
    live, cand = report["live"], report["candidate"]
    changes = Table(title=f"alerts: live {live['version']} → candidate {cand['version']}")
    for column in ("rule", "department", "added", "removed"):
        changes.add_column(column, justify="right" if column in ("added", "removed") else "left")
    for row in report["by_rule_department"]:
        changes.add_row(row["rule_id"], row["department"], str(row["added"]), str(row["removed"]))
    console.print(changes)
    shown = Table(title="examples")
    for column in ("", "rule", "fingerprint", "title", "planted"):
        shown.add_column(column)
    for sign, key in (("+", "added"), ("−", "removed")):
        for ex in report["examples"][key]:
            shown.add_row(sign, ex["rule_id"], ex["fingerprint"], ex["title"], ex["planted"] or "")
    console.print(shown)
    grades = Table(title="grades: live (rows) → candidate (columns); - not graded")
    grades.add_column("")
    for letter in LETTERS:
        grades.add_column(letter, justify="right")
    for row in LETTERS:
        grades.add_row(row, *(str(report["grades"]["matrix"][row][c]) for c in LETTERS))
    console.print(grades)
    _render_scores(report, console)


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _scores(against: str, live: dict[str, Any], cand: dict[str, Any]) -> list[str]:
    """One row of the precision/recall table: ``against``, then live and candidate P and R."""
    return [against, *(_ratio(side[m]) for side in (live, cand) for m in ("precision", "recall"))]


def _render_scores(report: dict[str, Any], console: Console) -> None:
    scores = Table(title="precision / recall")
    for column in ("against", "live P", "live R", "candidate P", "candidate R"):
        scores.add_column(column, justify="left" if column == "against" else "right")
    live, cand = report["inspections"]["live"], report["inspections"]["candidate"]
    scores.add_row(*_scores(f"inspections ({live['labels']:,} labels)", live, cand))
    planted = report.get("planted")
    for rule, before in (planted or {}).get("live", {}).items():
        after = planted["candidate"][rule] if planted else before
        scores.add_row(*_scores(f"planted: {rule}", before, after))
    console.print(scores)
    console.print(
        f"{report['events']:,} events in the period ({report['warmup_events']:,} before it); "
        f"live {report['live']['seconds']} s, candidate {report['candidate']['seconds']} s"
    )
