"""The planter: what a planted case uses to build its firms, people and events, and to say
which alerts must or must not follow.

A case schedules events as *stubs* ``(stamp, seq, emitter method, args)``; the stream
materialises them in business-time order with the background. Planted firms are fresh
(no background firm shares their address or people) and their background is
contributions only, so the rule under test sees exactly what the case planted. Order that
matters across topics is kept at least 32 days apart: evaluation drains the engine at
every month boundary, so such facts are always processed in business-time order.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any, Final

from simulate.calendar import END, START, hour, stamp_of
from simulate.emit import Emitter, Event
from simulate.population import Enterprise, Holding, Person, Population, with_stakes
from simulate.truth import Expectation
from streams.address import normalise_address
from streams.identifiers import PersonKeyer

Stub = tuple[int, int, Callable[..., Event], tuple[Any, ...]]
PLANTED_AT: Final = hour(10)  # every planted fact at 10:00, so windows are whole days
MARGIN_DAYS: Final = 5


def days(n: int) -> timedelta:
    return timedelta(days=n)


class Planter:
    def __init__(
        self,
        population: Population,
        emit: Emitter,
        keyer: PersonKeyer,
        rng: random.Random,
        seq: Iterator[int],
    ) -> None:
        self.pop, self.emit, self.rng = population, emit, rng
        self._keyer, self._seq = keyer, seq
        self.stubs: list[Stub] = []
        self.expectations: list[Expectation] = []
        self.case = ""

    # -- time -------------------------------------------------------------------------------

    def anchor(self, *, lead: int = 0, span: int = 0) -> date:
        """A day with ``lead`` days of the period before it and ``span`` after it (never
        29 February, so birthdays fall on the same day in every year)."""
        first = (START + days(lead + MARGIN_DAYS)).toordinal()
        last = (END - days(span + MARGIN_DAYS)).toordinal()
        if last < first:
            raise ValueError(f"case {self.case}: lead {lead} + span {span} days exceed the period")
        while True:
            day = date.fromordinal(self.rng.randint(first, last))
            if (day.month, day.day) != (2, 29):
                return day

    def at(self, day: date, method: Callable[..., Event], *args: Any) -> None:
        """Schedule ``method(stamp, *args)`` on ``day`` at 10:00."""
        self.stubs.append((stamp_of(day, PLANTED_AT), next(self._seq), method, args))

    # -- firms and people -----------------------------------------------------------------

    def person(self, birth: date | None = None) -> Person:
        return self.pop.new_person(birth)

    def address(self) -> str:
        return self.pop.new_address()

    def firm(
        self,
        day: date,
        *,
        address: str | None = None,
        rep: Person | None = None,
        officers: list[tuple[Person, str]] | None = None,
        holders: list[Person] | None = None,
        capital_paid: float = 500_000.0,
    ) -> Enterprise:
        """A planted firm registered on ``day`` (a fresh address and people by default)."""
        rep = rep or self.person()
        if officers is None:
            officers = [(self.person(), "supervisor")]
        people = holders if holders is not None else [rep]
        ent = Enterprise(
            uscc=self.pop.new_uscc(),
            name=self.pop.new_company_name(),
            registered_on=day,
            capital_registered=max(1_000_000.0, capital_paid),
            capital_paid=capital_paid,
            industry="I6510",
            address=address or self.address(),
            phone="0755-2" + f"{self.rng.randrange(10**7):07d}",
            legal_rep=rep,
            officers=officers,
            shareholders=with_stakes([Holding(p.name, 0.0, person=p) for p in people], self.rng),
            employees=self.rng.randint(3, 40),
            revenue=round(self.rng.uniform(50_000, 400_000), 2),
            planted=True,
        )
        self.pop.enterprises.append(ent)
        self.at(day, self.emit.registered, ent)
        return ent

    def deregister(self, day: date, ent: Enterprise) -> None:
        ent.deregistered_on = day
        self.at(day, self.emit.deregistered, ent, "股东会决议解散")

    def new_holders(self, n: int = 2) -> list[dict[str, Any]]:
        """A fresh shareholder list in its wire form."""
        people = [self.person() for _ in range(n)]
        return [
            h.wire()
            for h in with_stakes([Holding(p.name, 0.0, person=p) for p in people], self.rng)
        ]

    # -- expectations ---------------------------------------------------------------------

    def expect(self, rule_id: str, subject: Enterprise | Person | str, note: str) -> None:
        """``rule_id`` must fire on ``subject`` (a firm, a person or an address)."""
        self._add(rule_id, subject, note, fire=True)

    def forbid(
        self,
        rule_id: str,
        subject: Enterprise | Person | str,
        note: str,
        near: tuple[str, float] | None = None,
    ) -> None:
        """``rule_id`` must never fire on ``subject``; ``near`` names the threshold the
        near-miss misses and its planted value (:class:`Expectation`)."""
        self._add(rule_id, subject, note, fire=False, near=near)

    def _add(
        self,
        rule_id: str,
        subject: Enterprise | Person | str,
        note: str,
        fire: bool,
        near: tuple[str, float] | None = None,
    ) -> None:
        if isinstance(subject, Enterprise):
            fp = f"{rule_id}:enterprise:{subject.uscc}"
        elif isinstance(subject, Person):
            fp = f"{rule_id}:person:{self._keyer.key(subject.id_number)}"
        else:
            fp = f"{rule_id}:address:{normalise_address(subject)}"
        key, value = near if near is not None else (None, None)
        self.expectations.append(Expectation(rule_id, fp, fire, self.case, note, key, value))


def sequence() -> Iterator[int]:
    """The tie-breaker shared by every stub of one simulation."""
    return itertools.count()
