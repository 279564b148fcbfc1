"""What a batch judges: each event with the enterprise it is judged for (a person's event
fans out to the enterprises that person serves), the changed hubs, and the enterprises
that share a changed fact (their dependents, :mod:`processors.dependents`)."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from processors.batch import Incoming, Received
from processors.dependents import Dependent, changed_hubs, pick
from rules.engine import RuleEngine
from streams.event import Event
from streams.profile import EnterpriseProfile, PersonProfile
from streams.profile_store import EntityRef, Hub, ProfileStore


@dataclass(frozen=True, slots=True)
class Plan:
    """Each event with the enterprise it is judged for, and the dependents to re-evaluate."""

    pairs: list[tuple[Incoming, Event, str]]
    dependents: dict[str, Dependent[Received]]
    hubs: list[tuple[Received, str]]  # changed hubs, judged as such

    def only(self, usccs: Collection[str]) -> Plan:
        """The part about ``usccs``: the hubs were judged already."""
        return Plan(
            [p for p in self.pairs if p[2] in usccs],
            {u: d for u, d in self.dependents.items() if u in usccs},
            [],
        )


async def no_hubs() -> dict[str, Hub]:
    return {}


class Planner:
    def __init__(self, store: ProfileStore, engine: RuleEngine, fanout_cap: int) -> None:
        self._store = store
        self._engine = engine
        self._fanout_cap = fanout_cap

    async def plan(
        self,
        events: Sequence[Received],
        profiles: Mapping[EntityRef, EnterpriseProfile | PersonProfile],
        indexed: Mapping[str, set[str]],
    ) -> Plan:
        """Which enterprise each event is judged for (person events fan out to the live
        enterprises that person serves), and which enterprises to re-evaluate because the
        batch changed a fact they share."""
        persons = {ev.subject.id for _, ev in events if ev.subject.kind == "person"}
        fan_out = {f"{kind}:{key}" for key in persons for kind in ("person", "retired")}
        changed = changed_hubs(self._engine, events, profiles, indexed)
        served, read = await asyncio.gather(
            self._store.hubs(fan_out, cap=10_000) if fan_out else no_hubs(),
            self._store.hubs(changed, cap=self._fanout_cap) if changed else no_hubs(),
        )
        pairs: list[tuple[Incoming, Event, str]] = []
        for msg, ev in events:
            if ev.subject.kind == "enterprise":
                pairs.append((msg, ev, ev.subject.id))
            else:
                for kind in ("person", "retired"):
                    pairs += [(msg, ev, u) for u, _ in served[f"{kind}:{ev.subject.id}"].members]
        hubs = [(trigger, ix) for ix, (trigger, _) in changed.items()]
        return Plan(pairs, pick(changed, read, self._fanout_cap), hubs)
