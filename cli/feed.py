"""Commands that feed events to the input topics, as departments would: a JSON-lines file, the
demo feed, or a simulated population."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.options import Enterprises, Scale, Seed
from cli.process import command_settings
from core.settings import Settings


def replay(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="JSON lines, one event each")
    ],
) -> None:
    """Produce the events of a JSON-lines file to their input topics, in file order."""
    import orjson

    lines = file.read_bytes().splitlines()
    events = [orjson.loads(line) for line in lines if line.strip()]
    produce_with_progress(command_settings(), events, "replaying")
    typer.echo(f"replayed {len(events)} events from {file}")


def demo(seed: Annotated[int, typer.Option(help="random seed")] = 2017) -> None:
    """Play the demo feed: a small population with planted shell rings, dishonest officers
    and arrears, so that alerts appear on the board (`riskwire simulate` plants every rule)."""
    from simulate.demo import demo_events

    events = demo_events(seed)
    produce_with_progress(command_settings(), events, "demo feed")
    typer.echo(f"played {len(events)} demo events")


def simulate(
    scale: Scale = "small",
    enterprises: Enterprises = None,
    seed: Seed = 2017,
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
    from simulate.command import simulate_command

    sys.exit(
        simulate_command(
            command_settings(),
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


def produce_with_progress(settings: Settings, events: list[dict[str, Any]], label: str) -> None:
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
