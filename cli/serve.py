"""The long-running processes: a stream worker (and the bench's no-op one), the API, and the
whole stack on this machine (``riskwire run``); creating the topics."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from cli.process import command_settings, own_metrics_only
from core.settings import Settings


def worker() -> None:
    """Run a stream worker: consume the input topics, keep profiles, fire alerts."""
    own_metrics_only()
    from processors.app import create_app

    _run_faust(create_app)


def ceiling_worker() -> None:
    """A no-op faust worker that only counts its batches (``riskwire bench`` runs these to
    measure faust's own ceiling beside the pipeline)."""
    own_metrics_only()
    from processors.ceiling import create_ceiling_app

    _run_faust(create_ceiling_app)


def _run_faust(create: Callable[[Settings], Any]) -> None:
    """Build a faust app from the environment's settings and run it until stopped."""
    from faust.worker import Worker

    from core.telemetry import stdlib_logging_config

    settings = command_settings()
    faust_app = create(settings)
    _quiet_gc()
    Worker(
        faust_app,
        loglevel=settings.log_level.lower(),
        quiet=True,
        logging_config=stdlib_logging_config(settings.log_level, settings.log_format),
    ).execute_from_commandline()


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


def api(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
) -> None:
    """Serve the HTTP API, the live WebSocket feed and the board."""
    import uvicorn

    from api.app import create_app

    settings = command_settings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level=settings.log_level.lower(),
        access_log=False,
        log_config=None,  # uvicorn's records go through riskwire's handler (JSON lines)
    )


def topics() -> None:
    """Create every topic of the contract that is missing."""
    from streams.kafka import ensure_topics

    created = ensure_topics(command_settings())
    typer.echo(f"created {len(created)} topics" + (f": {', '.join(created)}" if created else ""))


def run() -> None:
    """Start a worker and the API, play the demo feed, print where to look; Ctrl-C stops both."""
    from cli.local import run_local

    sys.exit(run_local(command_settings()))
