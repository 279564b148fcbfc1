"""``riskwire simulate``: generate a seeded population's event stream into a JSON-lines file
and/or the Kafka input topics, and its ground truth into a JSON file."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

from core.settings import Settings
from simulate.population import scale_named
from simulate.stream import Simulation
from simulate.writer import JsonLinesFile, KafkaSink, Sink, progress_bar, write_stream
from streams.identifiers import PersonKeyer


def person_keyer(settings: Settings) -> PersonKeyer:
    """The deployment's person keyer: the truth names people as riskwire will key them."""
    return PersonKeyer(settings.identity_secret.get_secret_value().encode())


def _sinks(settings: Settings, out: Path | None, kafka: bool) -> list[Sink]:
    """Where the stream goes: a JSON-lines file, Kafka's input topics (created if missing)."""
    sinks: list[Sink] = []
    if out is not None:
        sinks.append(JsonLinesFile(out))
    if kafka:
        from streams.kafka import ensure_topics

        ensure_topics(settings)
        sinks.append(KafkaSink(settings))
    return sinks


def _write(sim: Simulation, sinks: list[Sink], rate: float, console: Console) -> int:
    """Write the simulation's events to every sink, closing them; answers the count."""
    try:
        with progress_bar(console) as progress:
            return write_stream(
                sim.events(),
                sinks,
                rate=rate,
                progress=progress,
                estimate=sim.estimated_events(),
            )
    finally:
        for sink in sinks:
            sink.close()


def simulate_command(
    settings: Settings,
    *,
    scale: str = "small",
    enterprises: int | None = None,
    seed: int = 2017,
    out: Path | None = None,
    truth: Path | None = None,
    kafka: bool = False,
    rate: float = 0.0,
    bad_fraction: float = 0.0,
    console: Console | None = None,
) -> int:
    """Write the stream where asked; answers the exit status."""
    console = console or Console(highlight=False)
    if out is None and not kafka:
        console.print("nothing to write: give --out FILE and/or --kafka")
        return 2
    try:
        chosen = scale_named(scale, enterprises)
        if not 0.0 <= bad_fraction < 1.0:
            raise ValueError("--bad-fraction must be at least 0 and below 1")
    except ValueError as exc:
        console.print(str(exc))
        return 2
    started = time.monotonic()
    with console.status("building the population and planting the cases"):
        sim = Simulation(chosen, seed, person_keyer(settings), bad_fraction=bad_fraction)
    console.print(
        f"population: {len(sim.population.enterprises):,} enterprises "
        f"({sim.scale.enterprises:,} background, the rest planted), "
        f"{len(sim.truth.expectations)} planted expectations, seed {seed}"
    )
    sinks = _sinks(settings, out, kafka)
    generating = time.monotonic()
    count = _write(sim, sinks, rate, console)
    elapsed = time.monotonic() - generating
    if truth is not None:
        truth.write_bytes(sim.truth.to_json())
    where = ", ".join(
        [str(out)] * (out is not None) + [f"Kafka {settings.kafka_bootstrap}"] * kafka
    )
    console.print(
        f"wrote {count:,} events ({sim.truth.dead_letters:,} deliberately bad) to {where} "
        f"in {elapsed:,.1f} s ({count / max(elapsed, 1e-9):,.0f} events/s; "
        f"{time.monotonic() - started:,.1f} s in all)"
        + (f"; truth in {truth}" if truth is not None else "")
    )
    return 0
