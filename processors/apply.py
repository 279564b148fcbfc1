"""The apply stage: each event folded into its profile exactly once, and committed with a
compare-and-set on the profile's version; then the commits' index operations finished
(:mod:`processors.indices`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.cas import AGAIN, Again, compare_and_set
from core.errors import StoreError
from core.telemetry import EVENTS_DUPLICATE, PROFILE_CONFLICTS
from processors.batch import Received
from processors.indices import finish_indices
from processors.profiles import horizon
from processors.profiles.cache import ProfileCache
from streams.event import Event
from streams.profile import EnterpriseProfile, PersonProfile
from streams.profile_reducers import apply_to_enterprise, apply_to_person, index_entries
from streams.profile_store import EntityRef, IndexOp, Loaded, ProfileStore, Stamp, Write

Profiles = dict[EntityRef, EnterpriseProfile | PersonProfile]


@dataclass(slots=True)
class _Working:
    """A profile being updated in this batch."""

    loaded: Loaded
    profile: EnterpriseProfile | PersonProfile
    before: dict[str, float]
    applied: list[Stamp] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)


async def apply(
    store: ProfileStore, events: Sequence[Received], cache: ProfileCache
) -> tuple[Profiles, set[int], set[int], dict[str, set[str]], dict[EntityRef, int]]:
    """Apply each event to its profile once; the profiles, the duplicates' positions,
    those refused as beyond the replay horizon, the indices each enterprise's write
    changed, and the version of each profile. Each profile is taken from ``cache`` (or
    parsed) to be folded, and once committed given back to it, to be only read from then
    on (:mod:`processors.profiles.cache`)."""
    by_ref: dict[EntityRef, list[int]] = defaultdict(list)
    for i, (_, event) in enumerate(events):
        by_ref[ref_of(event)].append(i)
    run = _Applying(store, cache, events, by_ref, todo=set(by_ref))
    await compare_and_set(
        run.attempt,
        exhausted=lambda: StoreError(f"{len(run.todo)} profiles kept changing under this worker"),
    )
    indexed = await finish_indices(store, cache, run.finish, run.versions)
    for i in run.duplicates:
        EVENTS_DUPLICATE.labels(events[i][0].topic).inc()
    return run.profiles, run.duplicates, run.beyond, indexed, run.versions


@dataclass(slots=True)
class _Applying:
    """One batch's events being applied: what the attempts so far found."""

    store: ProfileStore
    cache: ProfileCache
    events: Sequence[Received]
    by_ref: dict[EntityRef, list[int]]
    todo: set[EntityRef]  # the profiles still to commit
    profiles: Profiles = field(default_factory=dict)
    duplicates: set[int] = field(default_factory=set)
    beyond: set[int] = field(default_factory=set)
    finish: list[tuple[EntityRef, int, Sequence[IndexOp]]] = field(default_factory=list)
    versions: dict[EntityRef, int] = field(default_factory=dict)

    async def attempt(self, _n: int) -> Again | None:
        """Load, fold and commit the profiles still to commit; :data:`AGAIN` for those whose
        commit lost to another writer."""
        events, by_ref = self.events, self.by_ref
        duplicates, beyond = self.duplicates, self.beyond
        loaded = await self.store.load(
            {ref: {stamp(events[i][1]) for i in by_ref[ref]} for ref in self.todo}
        )
        writes: list[Write] = []
        for ref in self.todo:
            work = _start(ref, loaded[ref], self.cache.take(ref, loaded[ref]))
            for i in by_ref[ref]:
                duplicates.discard(i)
                beyond.discard(i)
                outcome = _apply_one(work, events[i][1])
                if outcome != _APPLIED:
                    (duplicates if outcome == _DUPLICATE else beyond).add(i)
            self.profiles[ref] = work.profile
            self.versions[ref] = work.loaded.version
            if work.applied:
                writes.append(_write(ref, work, self.store))
                continue
            if work.loaded.stored is not None:  # unchanged: given back as it was read
                self.cache.put(ref, work.loaded.stored, work.profile)
            if work.loaded.pending:
                self.finish.append((ref, work.loaded.version, work.loaded.pending))
        results = await self.store.commit(writes)
        conflicted = {ref for ref, version in results.items() if version is None}
        for w in writes:
            version = results[w.ref]
            if version is None:
                continue  # its folded profile is dropped: the next attempt parses anew
            self.versions[w.ref] = version
            assert w.stored is not None  # _write made it
            self.cache.put(w.ref, w.stored, self.profiles[w.ref])
            if w.index_ops:  # nothing to finish otherwise
                self.finish.append((w.ref, version, w.index_ops))
        if not conflicted:
            return None
        PROFILE_CONFLICTS.inc(len(conflicted))
        self.todo = conflicted
        return AGAIN


_APPLIED, _DUPLICATE, _BEYOND = "applied", "duplicate", "beyond"


def _apply_one(work: _Working, event: Event) -> str:
    """Fold ``event`` into ``work`` unless it is a duplicate or beyond the replay horizon;
    answers which of the three it was."""
    if event.eid in work.loaded.seen or event.eid in work.ids:
        return _DUPLICATE
    if horizon.beyond(work.loaded.marks.get(event.source), event.time):
        return _BEYOND
    _fold(work.profile, event)
    work.applied.append(stamp(event))
    work.ids.add(event.eid)
    return _APPLIED


def stamp(event: Event) -> Stamp:
    return Stamp(event.source, event.eid, event.time)


def ref_of(event: Event) -> EntityRef:
    return EntityRef("ent" if event.subject.kind == "enterprise" else "per", event.subject.id)


def _start(
    ref: EntityRef, loaded: Loaded, found: EnterpriseProfile | PersonProfile | None
) -> _Working:
    """``ref``'s profile to fold into: ``found`` (the caller's to change), or a new one."""
    if ref.kind == "ent":
        profile = found or EnterpriseProfile(uscc=ref.id)
        assert isinstance(profile, EnterpriseProfile)
        return _Working(loaded, profile, index_entries(profile))
    return _Working(loaded, found or PersonProfile(key=ref.id), {})


def _fold(profile: EnterpriseProfile | PersonProfile, event: Event) -> None:
    if isinstance(profile, EnterpriseProfile):
        apply_to_enterprise(profile, event)
    else:
        apply_to_person(profile, event)


def _write(ref: EntityRef, work: _Working, store: ProfileStore) -> Write:
    ops = list(work.loaded.pending)
    if isinstance(work.profile, EnterpriseProfile):
        after = index_entries(work.profile)
        ops += [IndexOp(ix, ref.id, None) for ix in work.before if ix not in after]
        ops += [IndexOp(ix, ref.id, s) for ix, s in after.items() if work.before.get(ix) != s]
    # Unset (None) fields are left out: each defaults to None, so the document reads
    # back the same, smaller; leaving out all defaults compared every field, slower.
    doc = work.profile.model_dump_json(exclude_none=True).encode()
    return Write(
        ref=ref,
        expected_version=work.loaded.version,
        doc=doc,
        applied=work.applied,
        index_ops=ops,
        stored=store.stored_form(doc),  # what the cache keeps it by once committed
    )
