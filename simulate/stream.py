"""One seeded simulation: the population, its planted cases, and its event stream in
business-time order, with the ground truth filled in as the stream is read.

>>> from streams.identifiers import PersonKeyer
>>> from simulate.population import SCALES
>>> sim = Simulation(SCALES["tiny"], seed=3, keyer=PersonKeyer(b"doctest-secret-16b"))
>>> first = next(sim.events())
>>> first["type"], first["time"] < "2023-01-01"
('enterprise.registered', True)
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from typing import Final

from simulate.calendar import MONTHS, START, day_of, month_index, month_start, stamp_of
from simulate.emit import Emitter, Event
from simulate.histories import OPEN_FROM, OPEN_SPAN, Background
from simulate.plant import Planter, Stub, sequence
from simulate.population import Enterprise, Scale, build_population
from simulate.scenarios import plant_cases
from simulate.truth import Truth
from streams.identifiers import USCC_ALPHABET, PersonKeyer

# Average events per firm over the period, by filing cadence (measured; for progress bars).
EVENTS_PER_FIRM: Final = {1: 90.0, 3: 33.0}


class Simulation:
    def __init__(
        self, scale: Scale, seed: int, keyer: PersonKeyer, *, bad_fraction: float = 0.0
    ) -> None:
        if not 0.0 <= bad_fraction < 1.0:
            raise ValueError("bad_fraction must be in [0, 1)")
        self.scale, self.seed, self.bad_fraction = scale, seed, bad_fraction
        self.run = f"{seed}-{scale.enterprises}"
        self.population = build_population(scale, random.Random(seed))
        self.emit = Emitter(self.run)
        self._seq = sequence()
        planter = Planter(self.population, self.emit, keyer, random.Random(seed + 1), self._seq)
        plant_cases(planter, scale.copies)
        self._planted = planter.stubs
        self._rng = random.Random(seed + 2)
        self.background = Background(
            self.population, self.emit, self._rng, scale.filing_every, self._seq
        )
        self.truth = Truth(
            seed=seed,
            scale=scale.name,
            run=self.run,
            expectations=planter.expectations,
            population=[e.uscc for e in self.population.enterprises],
        )

    def estimated_events(self) -> int:
        per_firm = EVENTS_PER_FIRM.get(self.scale.filing_every, 33.0)
        return int(len(self.population.enterprises) * per_firm)

    def events(self) -> Iterator[Event]:
        """Every event, in business-time order; fills ``truth.events`` and its labels."""
        bad = random.Random(self.seed + 3) if self.bad_fraction else None
        truth = self.truth
        for stubs in self._months():
            for stamp, _, method, args in stubs:
                event = method(stamp, *args)
                if event["type"] == "inspection.recorded":
                    label = event["data"]["violation_found"]
                    if label is not None:
                        truth.labels.append((event["subject"], stamp, label))
                truth.events += 1
                yield event
                if bad is not None and bad.random() < self.bad_fraction:
                    truth.dead_letters += 1
                    truth.events += 1
                    yield corrupt(event, bad)

    def _months(self) -> Iterator[list[Stub]]:
        firms = self.population.enterprises
        before = sorted((e for e in firms if e.registered_on < START), key=_registered)
        yield sorted(self._registration(e) for e in before)
        later = sorted((e for e in firms if e.registered_on >= START), key=_registered)
        planted: dict[int, list[Stub]] = defaultdict(list)
        for stub in self._planted:
            planted[month_index(day_of(stub[0]))].append(stub)
        active, j = before, 0
        for m in range(MONTHS):
            first, following = month_start(m), month_start(m + 1)
            active = [e for e in active if e.deregistered_on is None or e.deregistered_on >= first]
            stubs = self.background.month(m, active)
            joining = []
            while j < len(later) and later[j].registered_on < following:
                ent = later[j]
                j += 1
                joining.append(ent)
                if not ent.planted:
                    stubs.append(self._registration(ent))
            stubs += planted.pop(m, [])
            stubs.sort()
            yield stubs
            active += joining

    def _registration(self, ent: Enterprise) -> Stub:
        stamp = stamp_of(ent.registered_on, OPEN_FROM + int(self._rng.random() * OPEN_SPAN))
        return (stamp, next(self._seq), self.emit.registered, (ent,))


def _registered(ent: Enterprise) -> int:
    return ent.registered_on.toordinal()


def corrupt(event: Event, rng: random.Random) -> Event:
    """A copy of ``event`` that riskwire must dead-letter: a wrong check character in the
    subject, a required field missing, or a time without its UTC offset."""
    bad = {**event, "id": event["id"] + "-bad", "data": dict(event["data"])}
    kind = rng.randrange(3)
    if kind == 0:
        subject: str = event["subject"]
        alphabet = "0123456789" if subject.startswith("P:") else USCC_ALPHABET
        bad["subject"] = subject[:-1] + next(c for c in alphabet if c != subject[-1])
    elif kind == 1:
        bad["data"].pop(next(iter(bad["data"])))
    else:
        bad["time"] = event["time"][:19]
    return bad
