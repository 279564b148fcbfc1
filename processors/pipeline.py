"""One batch of input messages, from bytes to alerts, in a fixed number of Redis round trips.

::

    decode ─┬─> dead letters (riskwire.dlq)
            └─> events ─> load profiles + dedup flags ─> apply reducers ─> commit (CAS)
                 ─> finish indices ─> fan out person events ─> read facts (people, hubs)
                 ─> evaluate rules ─> upsert alerts (+ feed) ──> relay publishes

Events already applied (a redelivery, a replay after a crash) change no profile, but are
still evaluated against the current profile: an alert whose write a crash interrupted is
then written, and one that was written gains nothing and is not published again.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from alerts.dedup import Change, merge, new_alert, resolve, verdict_fingerprint
from alerts.lifecycle import close_for_deregistration, deregistration_fingerprints
from alerts.store import Upsert
from core.clock import Clock
from core.errors import DlqReason, InvalidEvent, StoreError
from core.telemetry import (
    ALERTS_FIRED,
    BATCH_SECONDS,
    BATCH_SIZE,
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
    EVENTS_DUPLICATE,
    GRADES_ASSIGNED,
    INDEX_REPAIRS,
    PROFILE_CONFLICTS,
    STALE_VERDICTS,
)
from processors.dependents import (
    DEFAULT_FANOUT_CAP,
    Dependent,
    agrees,
    changed_hubs,
    hub_of,
    pick,
    reevaluate,
)
from processors.dependents import hub_names as dependent_hubs
from processors.grades import GradeChange, Recorded, Regrader, regrade_in_time
from processors.profiles import horizon
from processors.profiles.model import EnterpriseProfile, PersonProfile
from processors.profiles.reducers import apply_to_enterprise, apply_to_person, index_entries
from processors.profiles.store import (
    EntityRef,
    Hub,
    IndexOp,
    Loaded,
    ProfileStore,
    Stamp,
    Write,
)
from processors.shadow import ShadowLane
from processors.stages import Stage, StageTimes
from rules.base import Clear, Facts, Need, Verdict
from rules.engine import RuleEngine
from rules.grading import Grade
from rules.models.checkpoint import Label, LearnResult
from rules.models.early_warning import EarlyWarningModel
from rules.models.features import features, label_of
from streams.alert import Alert
from streams.codec import Decoder
from streams.event import Event
from streams.schemas.common import Family

MAX_CAS_ATTEMPTS = 20
Profiles = dict[EntityRef, EnterpriseProfile | PersonProfile]


@dataclass(frozen=True, slots=True)
class Incoming:
    """One Kafka message as the worker received it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    message: Incoming
    error: InvalidEvent


class DeadLetterSink(Protocol):
    async def dead_letter(self, letters: Sequence[DeadLetter]) -> None: ...


class GradeRecorder(Protocol):
    async def current(self, usccs: Collection[str]) -> dict[str, Grade]: ...

    async def record(self, changes: Sequence[GradeChange]) -> list[Recorded]: ...


class WarningModel(Protocol):
    """The shared early-warning model (``rules.models.checkpoint.ModelStore``)."""

    async def model(self) -> EarlyWarningModel: ...

    async def offer(self, labels: Sequence[Label]) -> LearnResult | None:
        """Queue labels durably; the model learns them in rounds, each label once."""
        ...


class SourceClock(Protocol):
    """Told, per batch, the newest Kafka time and the number of events of each (topic,
    source) it accepted."""

    def note(self, seen: Mapping[tuple[str, str], tuple[int, int]]) -> None: ...


class AlertWriter(Protocol):
    async def open_alerts(self, fingerprints: Sequence[str]) -> dict[str, Alert]: ...

    async def upsert(self, upserts: Sequence[Upsert]) -> list[int | None]: ...


@dataclass(slots=True)
class BatchReport:
    accepted: int = 0
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    alerts: list[Alert] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Plan:
    """Each event with the enterprise it is judged for, and the dependents to re-evaluate."""

    pairs: list[tuple[Incoming, Event, str]]
    dependents: dict[str, Dependent[tuple[Incoming, Event]]]
    hubs: list[tuple[tuple[Incoming, Event], str]]  # changed hubs, judged as such

    def only(self, usccs: Collection[str]) -> _Plan:
        """The part about ``usccs``: the hubs were judged already."""
        return _Plan(
            [p for p in self.pairs if p[2] in usccs],
            {u: d for u, d in self.dependents.items() if u in usccs},
            [],
        )


@dataclass(slots=True)
class _Basis:
    """The version of every profile a batch's verdicts were made from, and which
    enterprises read each person."""

    versions: dict[EntityRef, int] = field(default_factory=dict)
    readers: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # Hubs carry no version: the members each was read with, and who read it.
    hubs: dict[str, Hub] = field(default_factory=dict)
    hub_readers: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def moved(self, now: Mapping[EntityRef, int], hubs: Mapping[str, Hub]) -> set[str]:
        """The enterprises judged from a profile, or a hub, that has moved since it was
        read."""
        out: set[str] = set()
        for ref, version in now.items():
            if version != self.versions[ref]:
                out |= {ref.id} if ref.kind == "ent" else self.readers.get(ref.id, set())
        for index, hub in hubs.items():
            if hub != self.hubs[index]:
                out |= self.hub_readers[index]
        return out

    def read_hubs(
        self, enterprises: Mapping[str, EnterpriseProfile], hubs: Mapping[str, Hub]
    ) -> None:
        """Note the hubs each judged enterprise read (its address, its people's)."""
        for uscc, ent in enterprises.items():
            names = [f"person:{p.key}" for p in ent.people()]
            names += [f"addr:{ent.address_norm}"] if ent.address_norm else []
            for index in names:
                if index in hubs:
                    self.hubs[index] = hubs[index]
                    self.hub_readers[index].add(uscc)


@dataclass(slots=True)
class _Working:
    """A profile being updated in this batch."""

    loaded: Loaded
    profile: EnterpriseProfile | PersonProfile
    before: dict[str, float]
    applied: list[Stamp] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)


class BatchProcessor:
    def __init__(
        self,
        *,
        decoder: Decoder,
        families: Mapping[str, Family],
        store: ProfileStore,
        alerts: AlertWriter,
        engine: RuleEngine,
        grades: GradeRecorder,
        dead_letters: DeadLetterSink,
        clock: Clock,
        model: WarningModel | None = None,
        model_inputs: Collection[str] = frozenset(),
        fanout_cap: int = DEFAULT_FANOUT_CAP,
        sources: SourceClock | None = None,
        shadow: ShadowLane | None = None,
    ) -> None:
        self._decoder = decoder
        self._fanout_cap = fanout_cap
        self._families = families
        self._store = store
        self._alerts = alerts
        self._engine = engine
        self._grades = grades
        self._model = model
        self._model_inputs = frozenset(model_inputs)
        self._dead_letters = dead_letters
        self._clock = clock
        self._sources = sources
        self._shadow = shadow
        for topic in families:  # every reason at 0 before the first dead letter
            for reason in DlqReason:
                EVENTS_DEAD_LETTERED.labels(topic, reason.value)

    async def process(self, batch: Sequence[Incoming]) -> BatchReport:
        started = time.perf_counter()
        report, times = BatchReport(), StageTimes()
        with times.stage(Stage.DECODE):
            events, letters = self._decode(batch)
        report.accepted, report.dead_lettered = len(events), len(letters)
        if letters:
            with times.stage(Stage.WRITE):
                await self._dead_letters.dead_letter(letters)
        if events:
            with times.stage(Stage.APPLY):
                profiles, duplicates, beyond, indexed, versions = await self._apply(events)
            if beyond:
                events = await self._refuse_beyond_horizon(events, beyond)
                report.dead_lettered += len(beyond)
            report.duplicates = len(duplicates)
            report.applied = len(events) - len(duplicates)
            with times.stage(Stage.READ):
                plan = await self._plan(events, profiles, indexed)
            report.alerts, labels = await self._judge(plan, profiles, versions, times)
            with times.stage(Stage.WRITE):
                report.alerts += await self._close_deregistered(events)
                # Labels are offered to the model only after it scored them (score,
                # decide, then learn).
                if labels and self._model is not None:
                    await self._model.offer(labels)
                if self._shadow is not None:
                    await self._shadow.flush()
        BATCH_SIZE.observe(len(batch))
        BATCH_SECONDS.observe(time.perf_counter() - started)
        times.observe()
        return report

    # -- decode -------------------------------------------------------------------------

    def _decode(
        self, batch: Sequence[Incoming]
    ) -> tuple[list[tuple[Incoming, Event]], list[DeadLetter]]:
        events: list[tuple[Incoming, Event]] = []
        letters: list[DeadLetter] = []
        consumed: dict[tuple[str, str], int] = defaultdict(int)
        seen: dict[tuple[str, str], tuple[int, int]] = {}
        for msg in batch:
            try:
                event = self._decoder.decode(msg.value, self._families.get(msg.topic))
            except InvalidEvent as exc:
                # A fresh error, without the traceback: kept in ``letters``, the caught
                # one would hold its frames, and through them this whole batch, in a
                # reference cycle that only the cyclic collector frees.
                letters.append(DeadLetter(msg, InvalidEvent(exc.reason, exc.detail)))
                EVENTS_DEAD_LETTERED.labels(msg.topic, exc.reason.value).inc()
                continue
            events.append((msg, event))
            consumed[(msg.topic, event.type)] += 1
            ms, n = seen.get((msg.topic, event.source), (0, 0))
            seen[(msg.topic, event.source)] = (max(ms, msg.timestamp_ms), n + 1)
        for (topic, etype), n in consumed.items():
            EVENTS_CONSUMED.labels(topic, etype).inc(n)
        if self._sources is not None and seen:
            self._sources.note(seen)
        return events, letters

    async def _refuse_beyond_horizon(
        self, events: Sequence[tuple[Incoming, Event]], beyond: Collection[int]
    ) -> list[tuple[Incoming, Event]]:
        """Dead-letter the events the horizon refused; answers the others."""
        letters = [
            DeadLetter(
                events[i][0],
                InvalidEvent(
                    DlqReason.BEYOND_HORIZON,
                    "not in the profile's dedup record and not later than what its source "
                    "sent this profile more than the replay horizon ago: it may have been "
                    "applied already, so it is not applied",
                ),
            )
            for i in sorted(beyond)
        ]
        for letter in letters:
            EVENTS_DEAD_LETTERED.labels(letter.message.topic, DlqReason.BEYOND_HORIZON).inc()
        await self._dead_letters.dead_letter(letters)
        return [e for i, e in enumerate(events) if i not in beyond]

    # -- apply: exactly once per (event, profile) ----------------------------------------

    async def _apply(
        self, events: Sequence[tuple[Incoming, Event]]
    ) -> tuple[Profiles, set[int], set[int], dict[str, set[str]], dict[EntityRef, int]]:
        """Apply each event to its profile once; the profiles, the duplicates' positions,
        those refused as beyond the replay horizon, the indices each enterprise's write
        changed, and the version of each profile."""
        by_ref: dict[EntityRef, list[int]] = defaultdict(list)
        for i, (_, event) in enumerate(events):
            by_ref[_ref(event)].append(i)
        profiles: dict[EntityRef, EnterpriseProfile | PersonProfile] = {}
        duplicates: set[int] = set()
        beyond: set[int] = set()
        finish: list[tuple[EntityRef, int, Sequence[IndexOp]]] = []
        versions: dict[EntityRef, int] = {}
        todo = set(by_ref)
        for _attempt in range(MAX_CAS_ATTEMPTS):
            loaded = await self._store.load(
                {ref: {_stamp(events[i][1]) for i in by_ref[ref]} for ref in todo}
            )
            writes: list[Write] = []
            working: dict[EntityRef, _Working] = {}
            for ref in todo:
                work = _start(ref, loaded[ref])
                for i in by_ref[ref]:
                    duplicates.discard(i)
                    beyond.discard(i)
                    outcome = _apply_one(work, events[i][1])
                    if outcome != _APPLIED:
                        (duplicates if outcome == _DUPLICATE else beyond).add(i)
                working[ref] = work
                profiles[ref] = work.profile
                versions[ref] = work.loaded.version
                if work.applied:
                    writes.append(_write(ref, work))
                elif work.loaded.pending:
                    finish.append((ref, work.loaded.version, work.loaded.pending))
            results = await self._store.commit(writes)
            conflicted = {ref for ref, version in results.items() if version is None}
            for w in writes:
                version = results[w.ref]
                if version is not None:
                    versions[w.ref] = version
                if version is not None and w.index_ops:  # nothing to finish otherwise
                    finish.append((w.ref, version, w.index_ops))
            if not conflicted:
                break
            PROFILE_CONFLICTS.inc(len(conflicted))
            todo = conflicted
        else:
            raise StoreError(f"{len(todo)} profiles kept changing under this worker")
        indexed = await self._finish_indices(finish, versions)
        for i in duplicates:
            EVENTS_DUPLICATE.labels(events[i][0].topic).inc()
        return profiles, duplicates, beyond, indexed, versions

    async def _finish_indices(
        self,
        finish: Sequence[tuple[EntityRef, int, Sequence[IndexOp]]],
        versions: dict[EntityRef, int],
    ) -> dict[str, set[str]]:
        """Apply the index operations of the writes (and of notes left behind), repair what
        a newer write moved; the indices each enterprise's write changed."""
        moved = await self._store.finish_indices(finish)
        # Only enterprise writes carry index operations; a moved profile without any needs
        # no repair (and a person's profile has no indices at all).
        touched: dict[EntityRef, set[str]] = defaultdict(set)
        for ref, _, ops in finish:
            if ref in moved and ops:
                touched[ref].update(op.index for op in ops)
        if touched:
            await self._repair_indices(dict(touched))
        indexed: dict[str, set[str]] = defaultdict(set)
        for ref, version, ops in finish:
            indexed[ref.id].update(op.index for op in ops)
            versions[ref] = version
        return indexed

    async def _repair_indices(self, touched: dict[EntityRef, set[str]]) -> None:
        """Our index operations may have landed after a newer version's: set each index we
        touched to what the newest profile wants, until that profile's version holds still
        (a writer that moves it meanwhile repairs after us in the same way)."""
        for _attempt in range(MAX_CAS_ATTEMPTS):
            current = await self._store.load(dict.fromkeys(touched, ()))
            ops: list[IndexOp] = []
            for ref, indices in touched.items():
                doc = current[ref].doc
                wanted = index_entries(EnterpriseProfile.model_validate_json(doc)) if doc else {}
                ops += [IndexOp(ix, ref.id, wanted.get(ix)) for ix in sorted(indices)]
            await self._store.apply_index_ops(ops)
            INDEX_REPAIRS.inc(len(touched))
            after = await self._store.load(dict.fromkeys(touched, ()))
            touched = {r: ix for r, ix in touched.items() if after[r].version != current[r].version}
            if not touched:
                return
        raise StoreError(f"{len(touched)} profiles kept moving while their indices were repaired")

    # -- evaluate ------------------------------------------------------------------------

    async def _plan(
        self,
        events: Sequence[tuple[Incoming, Event]],
        profiles: Mapping[EntityRef, EnterpriseProfile | PersonProfile],
        indexed: Mapping[str, set[str]],
    ) -> _Plan:
        """Which enterprise each event is judged for (person events fan out to the live
        enterprises that person serves), and which enterprises to re-evaluate because the
        batch changed a fact they share."""
        persons = {ev.subject.id for _, ev in events if ev.subject.kind == "person"}
        fan_out = {f"{kind}:{key}" for key in persons for kind in ("person", "retired")}
        changed = changed_hubs(self._engine, events, profiles, indexed)
        served, read = await asyncio.gather(
            self._store.hubs(fan_out, cap=10_000) if fan_out else _no_hubs(),
            self._store.hubs(changed, cap=self._fanout_cap) if changed else _no_hubs(),
        )
        pairs: list[tuple[Incoming, Event, str]] = []
        for msg, ev in events:
            if ev.subject.kind == "enterprise":
                pairs.append((msg, ev, ev.subject.id))
            else:
                for kind in ("person", "retired"):
                    pairs += [(msg, ev, u) for u, _ in served[f"{kind}:{ev.subject.id}"].members]
        hubs = [(trigger, ix) for ix, (trigger, _) in changed.items()]
        return _Plan(pairs, pick(changed, read, self._fanout_cap), hubs)

    async def _judge(
        self,
        plan: _Plan,
        profiles: Mapping[EntityRef, EnterpriseProfile | PersonProfile],
        versions: Mapping[EntityRef, int],
        times: StageTimes,
    ) -> tuple[list[Alert], list[Label]]:
        """Evaluate the plan, write its alerts, then its grades; then judge again every
        enterprise whose profile another worker committed since it was read, until none
        moved. Its verdicts may have been written after those of the worker that read the
        newer profile, so they are redone from the newest (``riskwire_stale_verdicts_total``).
        Grades go after the alerts: a crash in between replays the batch against the old
        grade, so a downgrade alert is raised again (and merged) rather than lost."""
        written: list[Alert] = []
        first_labels: list[Label] | None = None
        created: dict[str, tuple[Verdict, Event, int]] = {}
        for _attempt in range(MAX_CAS_ATTEMPTS):
            basis = _Basis()
            verdicts, regrader, labels = await self._evaluate(
                plan, profiles, versions, basis, times
            )
            verdicts += _withdrawals(created, verdicts)
            first_labels = labels if first_labels is None else first_labels
            with times.stage(Stage.WRITE):
                now = await self._write_alerts(verdicts, regrader.latest, created)
                written += now + await self._settle_hubs(verdicts, now, regrader.latest)
                await self._grades.record(regrader.changes)
                _count_grades(regrader.changes)
                moved = basis.moved(
                    *await asyncio.gather(
                        self._store.versions(list(basis.versions)),
                        self._store.hubs(list(basis.hubs)) if basis.hubs else _no_hubs(),
                    )
                )
            if not moved:
                return written, first_labels
            STALE_VERDICTS.inc(len(moved))
            plan, profiles, versions = plan.only(moved), {}, {}
            created = {fp: c for fp, c in created.items() if c[0].subject_id in moved}
        raise StoreError(f"{len(moved)} enterprises kept changing while they were judged")

    async def _settle_hubs(
        self,
        verdicts: Sequence[tuple[Verdict, Event, int]],
        written: Sequence[Alert],
        grades: Mapping[str, Grade],
    ) -> list[Alert]:
        """Judge each hub whose alert was just written again from a fresh read, and write
        what differs, until the alerts agree with their hubs. Another worker may have
        moved a member between this worker's read of the hub and its write (hubs carry no
        version), and its own write may have landed first: the last write of a hub's
        alert must then still name the hub's members as they are."""
        trigger = {verdict_fingerprint(v): (ev, ts) for v, ev, ts in verdicts}
        last = {a.fingerprint: a for a in written if hub_of(a) and a.fingerprint in trigger}
        out: list[Alert] = []
        for _attempt in range(MAX_CAS_ATTEMPTS):
            if not last:
                return out
            index = {fp: str(hub_of(a)) for fp, a in last.items()}
            hubs = await self._store.hubs(set(index.values()))
            redo = [
                (v, *trigger[fp])
                for fp, alert in last.items()
                for v in self._engine.reevaluate_hub(trigger[fp][0], hubs[index[fp]])
                if verdict_fingerprint(v) == fp and not agrees(v, alert)
            ]
            again = await self._write_alerts(redo, grades) if redo else []
            out += again
            last = {a.fingerprint: a for a in again}
        raise StoreError(f"{len(last)} hub alerts kept disagreeing with their hubs")

    async def _evaluate(
        self,
        plan: _Plan,
        profiles: Mapping[EntityRef, EnterpriseProfile | PersonProfile],
        versions: Mapping[EntityRef, int],
        basis: _Basis,
        times: StageTimes,
    ) -> tuple[list[tuple[Verdict, Event, int]], Regrader, list[Label]]:
        """Regrade every enterprise of the plan, run the rules that read each event, and
        re-run the rules that read shared facts for its dependents; ``basis`` receives the
        version of every enterprise profile the verdicts were made from."""
        mark = time.perf_counter()
        pairs, dependents = plan.pairs, plan.dependents
        shadow = self._shadow.current if self._shadow is not None else None  # may grade too
        enterprises = await self._enterprises(
            {uscc for _, _, uscc in pairs} | set(dependents), profiles, versions, basis
        )
        people_keys, hub_names = self._wanted(pairs, enterprises)
        hub_names |= dependent_hubs(enterprises[u] for u in dependents if u in enterprises)
        hub_names |= {ix for _, ix in plan.hubs}
        people, hubs, latest = await asyncio.gather(
            self._people(people_keys, profiles, versions, basis),
            self._store.hubs(hub_names) if hub_names else _no_hubs(),
            self._grades.current(enterprises),
        )
        basis.read_hubs(enterprises, hubs)
        mark = times.lap(Stage.READ, mark)
        # One grade per enterprise and batch, at its latest fact (of any batch): the
        # profile already holds them all, so the grade depends on the facts, not on which
        # of them arrived last or in which batch.
        latest_event: dict[str, datetime] = {}
        for _, ev, uscc in pairs:
            if uscc in enterprises:
                latest_event[uscc] = max(latest_event.get(uscc, ev.time), ev.time)
        regrader = Regrader(
            dict(latest), self._engine.grading, rules_version=self._engine.rules_version
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
                hubs=hubs,
                grade=change.current,
                previous_grade=change.previous,
                weights=self._engine.grading,
            )
        times.lap(Stage.GRADE, mark)
        verdicts: list[tuple[Verdict, Event, int]] = []
        labels = await self._rules(pairs, facts_of, verdicts, times)
        mark = time.perf_counter()
        # The changed hubs after the members' own hits, from the same read: a hub's
        # refresh then changes nothing that a member's hit already set.
        verdicts += [
            (v, trigger, msg.timestamp_ms)
            for (msg, trigger), ix in plan.hubs
            for v in self._engine.reevaluate_hub(trigger, hubs[ix])
        ]
        verdicts += [
            (v, ev, msg.timestamp_ms)
            for msg, ev, v in reevaluate(self._engine, dependents, enterprises, hubs)
        ]
        if plan.hubs or dependents:  # observed only for the batches that changed a hub
            times.lap(Stage.REEVALUATE, mark)
        return verdicts, regrader, labels

    async def _rules(
        self,
        pairs: Sequence[tuple[Incoming, Event, str]],
        facts_of: Mapping[str, Facts],
        verdicts: list[tuple[Verdict, Event, int]],
        times: StageTimes,
    ) -> list[Label]:
        """Score with the model, run the rules of each pair into ``verdicts``; the labels."""
        mark = time.perf_counter()
        model = await self._model.model() if self._model is not None else None
        mark = times.lap(Stage.READ, mark)
        # One candidate for the whole batch (the shadow rules: never an alert, see
        # processors/shadow.py); None, the usual case, costs one attribute read.
        shadow = self._shadow.current if self._shadow is not None else None
        labels: list[Label] = []
        for msg, ev, uscc in pairs:
            facts = facts_of.get(uscc)
            if facts is None:
                continue
            if model is not None and ev.type in self._model_inputs:
                # Scored by the model as it stood before this batch; learned afterwards.
                x = features(facts.enterprise, facts.people, ev.time)
                facts = replace(facts, warning=model.score(x))
                label = label_of(ev)
                if label is not None:
                    labels.append(Label(ev.eid, x, label))
                mark = times.lap(Stage.SCORE, mark)
            found = self._engine.evaluate(ev, facts)
            if shadow is not None and self._shadow is not None:
                self._shadow.compare(shadow, ev, facts, found)
            mark = times.lap(Stage.RULES, mark)
            verdicts += [(v, ev, msg.timestamp_ms) for v in found]
        return labels

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
        basis: _Basis,
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
            if loaded.doc:
                out[ref.id] = EnterpriseProfile.model_validate_json(loaded.doc)
                basis.versions[ref] = loaded.version
        return out

    async def _people(
        self,
        keys: set[str],
        known: Mapping[EntityRef, EnterpriseProfile | PersonProfile],
        versions: Mapping[EntityRef, int],
        basis: _Basis,
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
            if loaded.doc:
                out[ref.id] = PersonProfile.model_validate_json(loaded.doc)
        return out

    # -- alerts --------------------------------------------------------------------------

    async def _write_alerts(
        self,
        verdicts: Sequence[tuple[Verdict, Event, int]],
        grades: Mapping[str, Grade],
        created: dict[str, tuple[Verdict, Event, int]] | None = None,
    ) -> list[Alert]:
        """Fold the batch's verdicts, in order, into the open alert of each fingerprint;
        an enterprise's alert carries the grade and score it has after this batch.
        ``created`` receives, for each enterprise alert this write opened, the verdict
        that opened it, and loses each one this write resolved."""
        if not verdicts:
            return []
        by_fp: dict[str, list[tuple[Verdict, Event, int]]] = defaultdict(list)
        for item in verdicts:
            by_fp[verdict_fingerprint(item[0])].append(item)
        written: list[Alert] = []
        todo = list(by_fp)
        for _attempt in range(MAX_CAS_ATTEMPTS):
            current = await self._alerts.open_alerts(todo)
            now = self._clock.now()
            upserts = [
                u for fp in todo for u in _fold_alerts(current.get(fp), by_fp[fp], now, grades)
            ]
            results = await self._alerts.upsert(upserts)
            retry = {
                u.alert.fingerprint for u, seq in zip(upserts, results, strict=True) if seq is None
            }
            for u, seq in zip(upserts, results, strict=True):
                if seq is not None and u.alert.fingerprint not in retry:
                    written.append(u.alert)
                    if created is not None:
                        _note_created(created, u, by_fp[u.alert.fingerprint])
                    ALERTS_FIRED.labels(
                        u.alert.rule_id, u.alert.severity.value, u.change.value
                    ).inc()
            if not retry:
                return written
            todo = list(retry)
        raise StoreError(f"{len(todo)} alerts kept changing under this worker")

    async def _close_deregistered(self, events: Sequence[tuple[Incoming, Event]]) -> list[Alert]:
        """Close every open alert about an enterprise deregistered in this batch (a replayed
        deregistration too: a crash may have come between the profile and the alerts)."""
        gone = {ev.subject.id: (ev, m.timestamp_ms) for m, ev in events if ev.type == DEREGISTERED}
        if not gone:
            return []
        owner = {fp: uscc for uscc in gone for fp in deregistration_fingerprints(uscc)}
        closed: list[Alert] = []
        for _attempt in range(MAX_CAS_ATTEMPTS):
            current = await self._alerts.open_alerts(list(owner))
            now = self._clock.now()
            upserts = []
            for fp, alert in current.items():
                event, received = gone[owner[fp]]
                done = close_for_deregistration(alert, now, getattr(event.data, "reason", None))
                upserts.append(Upsert(done, alert.revision, Change.STATUS, received))
            results = zip(upserts, await self._alerts.upsert(upserts), strict=True)
            lost = {u.alert.fingerprint for u, seq in results if seq is None}
            closed += [u.alert for u in upserts if u.alert.fingerprint not in lost]
            owner = {fp: uscc for fp, uscc in owner.items() if fp in lost}
            if not owner:
                return closed
        raise StoreError(f"{len(owner)} alerts of deregistered enterprises kept changing")


DEREGISTERED = "enterprise.deregistered"


def _fold_alerts(
    open_alert: Alert | None,
    items: Sequence[tuple[Verdict, Event, int]],
    now: datetime,
    grades: Mapping[str, Grade],
) -> list[Upsert]:
    """The writes that take one fingerprint's open alert through this batch's verdicts:
    updates of the open alert, its resolution, and a new alert after a resolution."""
    upserts: list[Upsert] = []
    alert, expected, change = open_alert, (open_alert.revision if open_alert else 0), Change.CREATED
    if open_alert is not None:
        change = Change.NEW_EVIDENCE
    received = min(ts for _, _, ts in items)
    for verdict, event, _ in items:
        if isinstance(verdict, Clear):
            if alert is None:
                continue
            closed = resolve(alert, verdict.reason, now=now)
            upserts.append(Upsert(closed, expected, Change.STATUS, received))
            alert, expected, change = None, 0, Change.CREATED
        elif alert is None:
            alert = new_alert(verdict, event_time=event.time, now=now)
        else:
            alert = merge(alert, verdict, event_time=event.time, now=now) or alert
    if alert is not None and alert.revision != expected:
        upserts.append(Upsert(_with_grade(alert, grades), expected, change, received))
    return upserts


WITHDRAWN_ZH = "据以告警的事实在评估期间已变化，依据最新事实重新评估后不再成立"


def _withdrawals(
    created: Mapping[str, tuple[Verdict, Event, int]],
    verdicts: Sequence[tuple[Verdict, Event, int]],
) -> list[tuple[Verdict, Event, int]]:
    """A clear for each enterprise alert an earlier attempt of this batch opened from facts
    that have moved since, about which the judgement from the newest facts says nothing:
    a rule that clears only on some events (a listing ended, the people changed) is silent
    when run again for another (a registration), and the alert would stay open although
    no order of the same events opens it."""
    said = {verdict_fingerprint(v) for v, _, _ in verdicts}
    return [
        (Clear(hit.rule_id, hit.subject_kind, hit.subject_id, WITHDRAWN_ZH), event, received)
        for fp, (hit, event, received) in created.items()
        if fp not in said
    ]


def _note_created(
    created: dict[str, tuple[Verdict, Event, int]],
    upsert: Upsert,
    items: Sequence[tuple[Verdict, Event, int]],
) -> None:
    """Keep the verdict behind an enterprise alert this batch opened; forget a resolved one."""
    fp = upsert.alert.fingerprint
    if not upsert.alert.status.is_open:
        created.pop(fp, None)
    elif upsert.expected_revision == 0 and upsert.alert.subject.kind == "enterprise":
        created[fp] = next(item for item in items if not isinstance(item[0], Clear))


def _with_grade(alert: Alert, grades: Mapping[str, Grade]) -> Alert:
    grade = grades.get(alert.subject.id) if alert.subject.kind == "enterprise" else None
    if grade is None:
        return alert
    return alert.model_copy(update={"grade": grade.grade, "score": grade.score})


def _count_grades(changes: Sequence[GradeChange]) -> None:
    letters: dict[str, int] = defaultdict(int)
    for change in changes:
        letters[change.current.grade] += 1
    for letter, n in letters.items():
        GRADES_ASSIGNED.labels(letter).inc(n)


async def _no_hubs() -> dict[str, Hub]:
    return {}


_APPLIED, _DUPLICATE, _BEYOND = "applied", "duplicate", "beyond"


def _apply_one(work: _Working, event: Event) -> str:
    """Fold ``event`` into ``work`` unless it is a duplicate or beyond the replay horizon;
    answers which of the three it was."""
    if event.eid in work.loaded.seen or event.eid in work.ids:
        return _DUPLICATE
    if horizon.beyond(work.loaded.marks.get(event.source), event.time):
        return _BEYOND
    _fold(work.profile, event)
    work.applied.append(_stamp(event))
    work.ids.add(event.eid)
    return _APPLIED


def _stamp(event: Event) -> Stamp:
    return Stamp(event.source, event.eid, event.time)


def _ref(event: Event) -> EntityRef:
    return EntityRef("ent" if event.subject.kind == "enterprise" else "per", event.subject.id)


def _start(ref: EntityRef, loaded: Loaded) -> _Working:
    profile: EnterpriseProfile | PersonProfile
    if ref.kind == "ent":
        profile = (
            EnterpriseProfile.model_validate_json(loaded.doc)
            if loaded.doc
            else EnterpriseProfile(uscc=ref.id)
        )
        return _Working(loaded, profile, index_entries(profile))
    profile = (
        PersonProfile.model_validate_json(loaded.doc) if loaded.doc else PersonProfile(key=ref.id)
    )
    return _Working(loaded, profile, {})


def _fold(profile: EnterpriseProfile | PersonProfile, event: Event) -> None:
    if isinstance(profile, EnterpriseProfile):
        apply_to_enterprise(profile, event)
    else:
        apply_to_person(profile, event)


def _write(ref: EntityRef, work: _Working) -> Write:
    ops = list(work.loaded.pending)
    if isinstance(work.profile, EnterpriseProfile):
        after = index_entries(work.profile)
        ops += [IndexOp(ix, ref.id, None) for ix in work.before if ix not in after]
        ops += [IndexOp(ix, ref.id, s) for ix, s in after.items() if work.before.get(ix) != s]
    return Write(
        ref=ref,
        expected_version=work.loaded.version,
        # Unset (None) fields are left out: each defaults to None, so the document reads
        # back the same, smaller; leaving out all defaults compared every field, slower.
        doc=work.profile.model_dump_json(exclude_none=True).encode(),
        applied=work.applied,
        index_ops=ops,
    )
