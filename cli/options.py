"""Typer options that several commands share: the size and seed of a simulated population
(`riskwire simulate`, `riskwire evaluate`). Each command keeps its own default."""

from __future__ import annotations

from typing import Annotated

import typer

Scale = Annotated[
    str,
    typer.Option(
        help="tiny (300 firms), small (2,000: ~70k events), medium (10,000: ~350k events, "
        "about 4 minutes to evaluate on 2 cores) or full (170,000: ~15M events over 3 years; "
        "hours to evaluate)"
    ),
]
Enterprises = Annotated[
    int | None,
    typer.Option(help="background firms: overrides the scale's number, keeps its cadence"),
]
Seed = Annotated[
    int,
    typer.Option(help="random seed of the simulated population: the same seed, the same stream"),
]
