"""The ``riskwire`` command. Each sub-command builds :class:`Settings` from the environment
and imports only what it needs."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from core.settings import Settings

app = typer.Typer(
    name="riskwire",
    help="Streaming risk alert engine for market regulators.",
    no_args_is_help=True,
    add_completion=False,
)
accounts_app = typer.Typer(
    help="Department accounts and their bearer tokens.", no_args_is_help=True
)
app.add_typer(accounts_app, name="accounts")
audit_app = typer.Typer(help="The audit log of queries and alert actions.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
alerts_app = typer.Typer(help="The alert store: indices and the archive.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")
draws_app = typer.Typer(help="Published inspection draws.", no_args_is_help=True)
app.add_typer(draws_app, name="draws")
secrets_app = typer.Typer(help="Secrets sealed at rest.", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")
state_app = typer.Typer(help="The profile state in Redis.", no_args_is_help=True)
app.add_typer(state_app, name="state")


def _settings() -> Settings:
    from core.telemetry import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _produce_with_progress(settings: Settings, events: list[dict[str, Any]], label: str) -> None:
    """Produce contract events to their input topics, as a department would, with a bar."""
    from rich.progress import Progress

    from streams.kafka import department_producer, produce_events

    producer = department_producer(settings)
    try:
        with Progress() as progress:
            task = progress.add_task(label, total=len(events))
            for _ in produce_events(producer, settings, events):
                progress.advance(task)
    finally:
        producer.close()


def _quiet_gc() -> None:
    """Move what start-up allocated out of the collector's way and let the young
    generation grow large. A worker's hot path makes no reference cycles (each batch is
    freed by reference counting), so the cyclic collector finds almost nothing; with the
    default thresholds it walked the objects of the batches in flight over and over.
    500,000 net allocations is a few batches' worth of live objects; garbage cycles (a
    few hundred a second, from the libraries) are still collected, just in larger
    sweeps."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(500_000, 20, 20)


@app.command()
def worker() -> None:
    """Run a stream worker: consume the input topics, keep profiles, fire alerts."""
    _own_metrics_only()
    from processors.app import create_app

    _run_faust(create_app)


@app.command("ceiling-worker", hidden=True)
def ceiling_worker() -> None:
    """A no-op faust worker that only counts its batches (``riskwire bench`` runs these to
    measure faust's own ceiling beside the pipeline)."""
    _own_metrics_only()
    from processors.ceiling import create_ceiling_app

    _run_faust(create_ceiling_app)


def _own_metrics_only() -> None:
    """A worker serves its own samples on its own port; written into a multiprocess
    directory the API serves too, they would be counted twice. Dropped before the first
    metric exists (prometheus_client reads it once, on import)."""
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)


def _run_faust(create: Callable[[Settings], Any]) -> None:
    """Build a faust app from the environment's settings and run it until stopped."""
    from faust.worker import Worker

    from core.telemetry import stdlib_logging_config

    settings = _settings()
    faust_app = create(settings)
    _quiet_gc()
    Worker(
        faust_app,
        loglevel=settings.log_level.lower(),
        quiet=True,
        logging_config=stdlib_logging_config(settings.log_level, settings.log_format),
    ).execute_from_commandline()


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
) -> None:
    """Serve the HTTP API, the live WebSocket feed and the board."""
    import uvicorn

    from api.app import create_app

    settings = _settings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level=settings.log_level.lower(),
        access_log=False,
        log_config=None,  # uvicorn's records go through riskwire's handler (JSON lines)
    )


@app.command()
def topics() -> None:
    """Create every topic of the contract that is missing."""
    from streams.kafka import ensure_topics

    created = ensure_topics(_settings())
    typer.echo(f"created {len(created)} topics" + (f": {', '.join(created)}" if created else ""))


@app.command()
def replay(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="JSON lines, one event each")
    ],
) -> None:
    """Produce the events of a JSON-lines file to their input topics, in file order."""
    import orjson

    lines = file.read_bytes().splitlines()
    events = [orjson.loads(line) for line in lines if line.strip()]
    _produce_with_progress(_settings(), events, "replaying")
    typer.echo(f"replayed {len(events)} events from {file}")


@app.command()
def demo(seed: Annotated[int, typer.Option(help="random seed")] = 2017) -> None:
    """Play the demo feed: a small population with planted shell rings, dishonest officers
    and arrears, so that alerts appear on the board (`riskwire simulate` plants every rule)."""
    from streams.demo import demo_events

    events = demo_events(seed)
    _produce_with_progress(_settings(), events, "demo feed")
    typer.echo(f"played {len(events)} demo events")


@app.command()
def run() -> None:
    """Start a worker and the API, play the demo feed, print where to look; Ctrl-C stops both."""
    from cli.local import run_local

    sys.exit(run_local(_settings()))


@app.command()
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
            _settings(),
            events=events,
            rate=rate,
            latency_seconds=latency_seconds,
            workers=workers,
            shadow=shadow,
        )
    )


@app.command("bench-api")
def bench_api(
    alerts: Annotated[int, typer.Option(help="alerts in the store")] = 1_000_000,
    requests: Annotated[int, typer.Option(help="timed requests per query")] = 300,
    reload: Annotated[bool, typer.Option(help="load the alerts again even if present")] = False,
) -> None:
    """Measure GET /api/v1/alerts latency (p50/p99) over a large alert store, in a Redis
    database of its own."""
    from cli.bench_api import run_bench_api

    sys.exit(run_bench_api(_settings(), alerts=alerts, requests=requests, reload=reload))


@app.command()
def simulate(
    scale: Annotated[
        str,
        typer.Option(
            help="tiny (300 firms), small (2,000: ~70k events), medium (10,000: ~350k) "
            "or full (170,000: ~15M events over 3 years)"
        ),
    ] = "small",
    enterprises: Annotated[
        int | None,
        typer.Option(help="background firms: overrides the scale's number, keeps its cadence"),
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed: the same seed, the same stream")] = 2017,
    out: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="JSON-lines file to write (gzip if it ends in .gz)"),
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option(
            dir_okay=False,
            help="ground truth to write (JSON): alerts that must and must not fire, "
            "inspection labels; persons by keyed hash only",
        ),
    ] = None,
    kafka: Annotated[bool, typer.Option("--kafka", help="produce to the input topics")] = False,
    rate: Annotated[float, typer.Option(help="events per second (0: as fast as possible)")] = 0.0,
    bad_fraction: Annotated[
        float, typer.Option(help="share of deliberately invalid events, for the DLQ")
    ] = 0.0,
) -> None:
    """Generate a seeded Qianhai-like population's events, with planted cases of every rule
    and their near-misses, and its ground truth."""
    from streams.simulate.command import simulate_command

    sys.exit(
        simulate_command(
            _settings(),
            scale=scale,
            enterprises=enterprises,
            seed=seed,
            out=out,
            truth=truth,
            kafka=kafka,
            rate=rate,
            bad_fraction=bad_fraction,
        )
    )


@app.command()
def evaluate(
    scale: Annotated[
        str,
        typer.Option(
            help="tiny, small, medium (~350k events, about 4 minutes on 2 cores) "
            "or full (170,000 firms, ~15M events: hours)"
        ),
    ] = "medium",
    enterprises: Annotated[
        int | None,
        typer.Option(help="background firms: overrides the scale's number, keeps its cadence"),
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed of the simulated population")] = 2017,
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
            _settings(),
            scale=scale,
            enterprises=enterprises,
            seed=seed,
            stall_timeout=timeout,
            truth=truth,
        )
    )


@app.command()
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
    from core.backtest import Options, backtest_command

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
    sys.exit(backtest_command(_settings(), options))


@app.command()
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

    _settings()
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


@accounts_app.command("create")
def accounts_create(
    department: Annotated[str, typer.Option(help="e.g. samr, tax, court, qianhai-authority")],
    role: Annotated[str, typer.Option(help="duty_officer, analyst or admin")],
    name: Annotated[str, typer.Option(help="the person or system holding the account")],
) -> None:
    """Create an account; its bearer token is printed once, alone on the last line."""
    from api.accounts import Accounts, Role
    from processors.runtime import redis_client

    settings = _settings()
    try:
        role_ = Role(role)
    except ValueError:
        raise typer.BadParameter(
            f"role must be one of {', '.join(r.value for r in Role)}"
        ) from None

    async def create() -> str:
        redis = redis_client(settings)
        try:
            account, token = await Accounts(redis).create(
                name=name, department=department, role=role_
            )
        finally:
            await redis.aclose()
        typer.echo(f"account {account.account_id} ({account.department}, {account.role}) created")
        return token

    typer.echo(asyncio.run(create()))


@accounts_app.command("revoke")
def accounts_revoke(
    token: Annotated[str, typer.Argument(help="the bearer token to revoke")],
) -> None:
    """Revoke a bearer token."""
    from api.accounts import Accounts
    from processors.runtime import redis_client

    settings = _settings()

    async def revoke() -> bool:
        redis = redis_client(settings)
        try:
            return await Accounts(redis).revoke(token)
        finally:
            await redis.aclose()

    if not asyncio.run(revoke()):
        typer.echo("no such token", err=True)
        raise typer.Exit(1)
    typer.echo("revoked")


@accounts_app.command("list")
def accounts_list(
    department: Annotated[str | None, typer.Option(help="only this department")] = None,
) -> None:
    """List accounts (never their tokens)."""
    from api.accounts import accounts_list_command

    raise typer.Exit(accounts_list_command(_settings(), department))


@accounts_app.command("revoke-id")
def accounts_revoke_id(
    account_id: Annotated[str, typer.Argument(help="the account id to revoke")],
) -> None:
    """Revoke an account by its id."""
    from api.accounts import accounts_revoke_id_command

    raise typer.Exit(accounts_revoke_id_command(_settings(), account_id))


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the audit log's hash chain; exit 1 at the first removed, altered or missing entry."""
    from api.audit import audit_verify_command

    raise typer.Exit(audit_verify_command(_settings()))


@alerts_app.command("reindex")
def alerts_reindex() -> None:
    """Backfill the listing indices from the stored alerts (once, after upgrading from a
    version without them; idempotent, safe while workers run)."""
    from alerts.backfill import reindex_command

    raise typer.Exit(reindex_command(_settings()))


@alerts_app.command("archive")
def alerts_archive(
    alert_id: Annotated[str | None, typer.Option(help="this alert only")] = None,
    uscc: Annotated[str | None, typer.Option(help="alerts listing this enterprise")] = None,
    rule_id: Annotated[str | None, typer.Option(help="alerts of this rule")] = None,
    department: Annotated[str | None, typer.Option(help="alerts routed to this department")] = None,
    status: Annotated[str | None, typer.Option(help="open, ..., resolved, dismissed")] = None,
    max_records: Annotated[
        int, typer.Option(help="stop after reading this many records (the scan's bound)")
    ] = 10_000_000,
) -> None:
    """Read alerts, also those the retention removed from Redis, from the compacted archive
    topic: one sequential scan of the topic (see alerts/archive.py for its cost). Prints
    JSON lines, newest first, then: scanned=<n> matched=<n> complete=<true|false>
    (exit 2 when the scan stopped at --max-records)."""
    from alerts.archive import ArchiveFilter, archive_command

    query = ArchiveFilter(alert_id, uscc, rule_id, department, status)
    raise typer.Exit(archive_command(_settings(), query, max_records=max_records))


@state_app.command("migrate")
def state_migrate() -> None:
    """Move stored profiles from state v1 to v2 (the dedup record bounded by the replay
    horizon), in place. Run once with every worker stopped; idempotent. Prints:
    profiles=<n> identities=<n> indices=<n>"""
    import asyncio

    from core.clock import SystemClock
    from processors.profiles.migrate import StateMigration
    from processors.runtime import redis_client

    async def run() -> None:
        redis = redis_client(_settings())
        try:
            done = await StateMigration(redis, SystemClock()).run()
        finally:
            await redis.aclose()
        typer.echo(f"profiles={done.profiles} identities={done.identities} indices={done.indices}")

    asyncio.run(run())


@draws_app.command("verify")
def draws_verify(
    record: Annotated[Path, typer.Argument(help="the draw's record, JSON, with its candidates")],
) -> None:
    """Re-run a published draw from the inputs its record states; exit 1 on a difference.
    Needs no riskwire service: only the record."""
    from api.draw_check import draws_verify_command

    raise typer.Exit(draws_verify_command(record))


@secrets_app.command("reseal")
def secrets_reseal() -> None:
    """Seal every webhook secret with the first key of RISKWIRE_SEALING_KEYS (after a
    rotation); exit 1 if one does not open with any key of the ring."""
    from alerts.notify.reseal import reseal_command

    raise typer.Exit(reseal_command(_settings()))


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    if _command(sys.argv[1:]) != "api":
        _own_metrics_only()
    app()


def _command(argv: list[str]) -> str | None:
    """The subcommand named on the command line: only the API's processes write into the
    multiprocess directory the API serves; any other command that ran the pipeline there
    (a backtest, an evaluation) would show its counts as the API's.

    >>> _command(["--help"]), _command(["api", "--port", "1"]), _command(["backtest"])
    (None, 'api', 'backtest')
    """
    return next((arg for arg in argv if not arg.startswith("-")), None)
