"""The rules' examples fed by the simulator's event factory: the rules take their event
source injected (:class:`rules.examples.EventSource`), and the tests pass the real one."""

from __future__ import annotations

from rules.examples import EXAMPLE_SOURCE, EXAMPLE_START, Kit
from simulate.factory import EventFactory


def example_factory(seed: int = 5) -> EventFactory:
    """The factory the rules' examples are written against (seed 5 unless told)."""
    return EventFactory(source=EXAMPLE_SOURCE, seed=seed, start=EXAMPLE_START)


def example_kit(seed: int = 5) -> Kit:
    """A fresh kit, as the contract suite hands every ``example()``."""
    return Kit(example_factory(seed))
