"""The grade stage: each enterprise a batch judges graded once, at the time its facts give,
and the :class:`~rules.base.Facts` its rules will read, that grade among them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from processors.basis import Basis
from processors.batch import Incoming
from processors.grades import Regrader, regrade_in_time
from processors.reads import Read
from processors.shadow import ShadowLane, ShadowRun
from rules.base import Facts
from rules.engine import RuleEngine
from streams.event import Event
from streams.profile_store import EntityRef


class Grading:
    def __init__(self, engine: RuleEngine, shadow: ShadowLane | None) -> None:
        self._engine = engine
        self._shadow = shadow

    def facts(
        self,
        pairs: Sequence[tuple[Incoming, Event, str]],
        read: Read,
        basis: Basis,
        shadow: ShadowRun | None,
    ) -> tuple[Regrader, dict[str, Facts]]:
        """Regrade every enterprise of ``pairs`` (under the shadow ``shadow`` too, if any);
        the grades, and the facts of each enterprise. ``basis`` learns which enterprises
        read each person."""
        enterprises, people = read.enterprises, read.people
        # One grade per enterprise and batch, at its latest fact (of any batch): the
        # profile already holds them all, so the grade depends on the facts, not on which
        # of them arrived last or in which batch.
        latest_event: dict[str, datetime] = {}
        for _, ev, uscc in pairs:
            if uscc in enterprises:
                latest_event[uscc] = max(latest_event.get(uscc, ev.time), ev.time)
        regrader = Regrader(
            dict(read.grades), self._engine.grading, rules_version=self._engine.rules_version
        )
        facts_of: dict[str, Facts] = {}
        for uscc, at in latest_event.items():
            ent = enterprises[uscc]
            its_people = {p.key: people[p.key] for p in ent.people() if p.key in people}
            for ref in ent.people():  # one read as missing too: its first write moves it
                basis.readers[ref.key].add(uscc)
            ent_version = basis.versions.get(EntityRef("ent", uscc), 0)
            change = regrade_in_time(regrader, ent, its_people, at, ent_version)
            if shadow is not None and self._shadow is not None:  # its grade beside the live one
                self._shadow.regrade(shadow, ent, its_people, change, self._engine.grading)
            facts_of[uscc] = Facts(
                enterprise=ent,
                people=its_people,
                hubs=read.hubs,
                grade=change.current,
                previous_grade=change.previous,
                weights=self._engine.grading,
            )
        return regrader, facts_of
