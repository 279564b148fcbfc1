"""The read stage: the facts the rules need for a plan, in one round of batched reads:
the enterprise profiles not in hand (dependents too), the people every enterprise names
(grading reads them all), the hubs the rules need, and the current grades; each profile
with the version the verdicts will be made from (:class:`~processors.basis.Basis`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from processors.basis import Basis
from processors.batch import Incoming
from processors.dependents import hub_names as dependent_hubs
from processors.plan import Plan, no_hubs
from processors.ports import GradeRecorder
from processors.profiles.cache import ProfileCache
from processors.shadow import ShadowLane
from rules.base import Need
from rules.engine import RuleEngine
from rules.grading import Grade
from streams.event import Event
from streams.profile import EnterpriseProfile, PersonProfile
from streams.profile_store import EntityRef, Hub, ProfileStore, Stamp


@dataclass(frozen=True, slots=True)
class Read:
    enterprises: dict[str, EnterpriseProfile]
    people: dict[str, PersonProfile]
    hubs: dict[str, Hub]
    grades: dict[str, Grade]  # the current grade of each enterprise, before this batch


class Reads:
    def __init__(
        self,
        store: ProfileStore,
        engine: RuleEngine,
        grades: GradeRecorder,
        shadow: ShadowLane | None,
        cache: ProfileCache,
    ) -> None:
        self._store = store
        self._cache = cache  # the profiles read are lent: the rules only read them
        self._engine = engine
        self._grades = grades
        self._shadow = shadow

    async def read(
        self,
        plan: Plan,
        profiles: Mapping[EntityRef, EnterpriseProfile | PersonProfile],
        versions: Mapping[EntityRef, int],
        basis: Basis,
    ) -> Read:
        """What the rules need to judge ``plan``; ``basis`` receives the version of every
        profile and the members of every hub read."""
        pairs, dependents = plan.pairs, plan.dependents
        enterprises = await self._enterprises(
            {uscc for _, _, uscc in pairs} | set(dependents), profiles, versions, basis
        )
        people_keys, hub_names = self._wanted(pairs, enterprises)
        hub_names |= dependent_hubs(enterprises[u] for u in dependents if u in enterprises)
        hub_names |= {ix for _, ix in plan.hubs}
        people, hubs, latest = await asyncio.gather(
            self._people(people_keys, profiles, versions, basis),
            self._store.hubs(hub_names) if hub_names else no_hubs(),
            self._grades.current(enterprises),
        )
        basis.read_hubs(enterprises, hubs)
        return Read(enterprises, people, hubs, latest)

    def _wanted(
        self,
        pairs: Sequence[tuple[Incoming, Event, str]],
        enterprises: Mapping[str, EnterpriseProfile],
    ) -> tuple[set[str], set[str]]:
        """The people (grading reads them all) and the hubs the rules need for ``pairs``."""
        shadow = self._shadow.current if self._shadow is not None else None
        people_keys: set[str] = set()
        hub_names: set[str] = set()
        for _, ev, uscc in pairs:
            ent = enterprises.get(uscc)
            if ent is None:
                continue
            people_keys.update(p.key for p in ent.people())
            needs = self._engine.needs_for(ev.type)
            if shadow is not None:
                needs |= shadow.engine.needs_for(ev.type)
            if Need.ADDRESS_HUB in needs and ent.address_norm:
                hub_names.add(f"addr:{ent.address_norm}")
            if Need.PERSON_HUBS in needs:
                hub_names.update(f"person:{p.key}" for p in ent.people())
        return people_keys, hub_names

    async def _enterprises(
        self,
        usccs: set[str],
        known: Mapping[EntityRef, EnterpriseProfile | PersonProfile],
        versions: Mapping[EntityRef, int],
        basis: Basis,
    ) -> dict[str, EnterpriseProfile]:
        out: dict[str, EnterpriseProfile] = {}
        missing: dict[EntityRef, tuple[Stamp, ...]] = {}
        for uscc in usccs:
            ref = EntityRef("ent", uscc)
            profile = known.get(ref)
            if isinstance(profile, EnterpriseProfile) and ref in versions:
                out[uscc], basis.versions[ref] = profile, versions[ref]
            else:
                missing[ref] = ()
        for ref, loaded in (await self._store.load(missing)).items() if missing else ():
            profile = self._cache.lend(ref, loaded, "judge")
            if isinstance(profile, EnterpriseProfile):
                out[ref.id] = profile
                basis.versions[ref] = loaded.version
        return out

    async def _people(
        self,
        keys: set[str],
        known: Mapping[EntityRef, EnterpriseProfile | PersonProfile],
        versions: Mapping[EntityRef, int],
        basis: Basis,
    ) -> dict[str, PersonProfile]:
        out: dict[str, PersonProfile] = {}
        missing: dict[EntityRef, tuple[Stamp, ...]] = {}
        for key in keys:
            ref = EntityRef("per", key)
            profile = known.get(ref)
            if isinstance(profile, PersonProfile) and ref in versions:
                out[key], basis.versions[ref] = profile, versions[ref]
            else:
                missing[ref] = ()
        for ref, loaded in (await self._store.load(missing)).items() if missing else ():
            basis.versions[ref] = loaded.version
            profile = self._cache.lend(ref, loaded, "judge")
            if isinstance(profile, PersonProfile):
                out[ref.id] = profile
        return out
