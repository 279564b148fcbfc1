"""Commands that measure riskwire or try a change on recorded input: the benchmarks, the
evaluation against a simulated truth, a backtest of a candidate rules file, and the dashboards'
report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.options import Enterprises, Scale, Seed
from cli.process import command_settings


def bench(
    events: Annotated[int, typer.Option(help="events for the throughput run")] = 100_000,
    rate: Annotated[int, typer.Option(help="events/s for the latency run")] = 1_000,
    latency_seconds: Annotated[int, typer.Option(help="duration of the latency run")] = 20,
    workers: Annotated[
        int | None,
        typer.Option(help="worker processes in the consumer group (default: one per CPU)"),
    ] = None,
    shadow: Annotated[
        Path | None,
        typer.Option(help="a candidate rules file the workers run in shadow (its cost)"),
    ] = None,
) -> None:
    """Measure pipeline throughput, event-to-alert latency and the raw consume ceiling."""
    from cli.bench import run_bench

    sys.exit(
        run_bench(
            command_settings(),
            events=events,
            rate=rate,
            latency_seconds=latency_seconds,
            workers=workers,
            shadow=shadow,
        )
    )


def bench_api(
    alerts: Annotated[int, typer.Option(help="alerts in the store")] = 1_000_000,
    requests: Annotated[int, typer.Option(help="timed requests per query")] = 300,
    reload: Annotated[bool, typer.Option(help="load the alerts again even if present")] = False,
) -> None:
    """Measure GET /api/v1/alerts latency (p50/p99) over a large alert store, in a Redis
    database of its own."""
    from cli.bench_api import run_bench_api

    sys.exit(run_bench_api(command_settings(), alerts=alerts, requests=requests, reload=reload))


def evaluate(
    scale: Scale = "medium",
    enterprises: Enterprises = None,
    seed: Seed = 2017,
    timeout: Annotated[
        float, typer.Option(help="give up after this many seconds without worker progress")
    ] = 120.0,
    truth: Annotated[
        Path | None, typer.Option(dir_okay=False, help="also write the ground truth here (JSON)")
    ] = None,
) -> None:
    """Play a simulated population through the running worker and score what comes out.

    Prints each rule's precision and recall on its planted cases and near-misses, its
    alerts on the population, the grade mix and the early-warning model's AUC. The last
    line is: min_rule_precision=<n> min_rule_recall=<n> early_warning_auc=<n>
    grade_mix=A:<n>,B:<n>,C:<n>,D:<n> (grade_mix: the share of the graded enterprises at
    each letter, 0-1 with 3 decimals)."""
    from cli.evaluate import evaluate_command

    sys.exit(
        evaluate_command(
            command_settings(),
            scale=scale,
            enterprises=enterprises,
            seed=seed,
            stall_timeout=timeout,
            truth=truth,
        )
    )


def backtest(
    candidate: Annotated[
        Path, typer.Option(dir_okay=False, help="the candidate rules file (TOML) to try")
    ],
    start: Annotated[
        str | None,
        typer.Option("--from", help="period start, by event time (ISO 8601; no offset: UTC)"),
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="period end, by event time")] = None,
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input",
            dir_okay=False,
            help="a file of `riskwire simulate --out` to replay "
            "instead of the input topics' history",
        ),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(
            dir_okay=False,
            help="compare against this rules file instead of the live rules "
            "(the rules file with the live overrides read from Redis)",
        ),
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="ground truth of `riskwire simulate --truth`"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="the report as one line of JSON, before the summary")
    ] = False,
    batch: Annotated[
        int | None,
        typer.Option(
            min=1, max=100_000, help="events per batch (default: RISKWIRE_WORKER_BATCH_MAX)"
        ),
    ] = None,
    parallel: Annotated[
        bool, typer.Option(help="replay both versions at once, in two processes")
    ] = True,
) -> None:
    """Replay recorded input under the live rules and a candidate, isolated, and report
    alerts added/removed per rule and department, grade changes, precision and recall.
    Last line: alerts_added=<n> alerts_removed=<n> grades_changed=<n> events=<n> seconds=<n>"""
    from cli.backtest import Options, backtest_command

    options = Options(
        candidate=candidate,
        baseline=baseline,
        start=start,
        end=end,
        input_file=input_file,
        truth=truth,
        as_json=as_json,
        batch=batch,
        parallel=parallel,
    )
    sys.exit(backtest_command(command_settings(), options))


def report(
    prometheus: Annotated[
        str, typer.Option(help="the Prometheus that scrapes riskwire")
    ] = "http://127.0.0.1:9090",
    out: Annotated[Path, typer.Option(file_okay=False, help="where the PNGs go")] = Path(
        "docs/img"
    ),
    minutes: Annotated[float, typer.Option(min=1, help="time range of the charts")] = 15.0,
) -> None:
    """Render the key dashboard panels from Prometheus into PNGs, with the dashboards'
    own queries (deploy/grafana/dashboards)."""
    from cli.prometheus import PrometheusAPI
    from cli.report import render_report
    from core.errors import QueryError

    command_settings()
    api = PrometheusAPI(prometheus)
    try:
        paths = render_report(api, out, minutes=minutes)
    except QueryError as exc:
        typer.echo(f"report failed: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        api.close()
    for path in paths:
        typer.echo(str(path))
