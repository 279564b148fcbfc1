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

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from alerts.dedup import Change, merge, new_alert, resolve, verdict_fingerprint
from alerts.store import Upsert
from core.clock import Clock
from core.errors import InvalidEvent, StoreError
from core.telemetry import (
    ALERTS_FIRED,
    BATCH_SECONDS,
    BATCH_SIZE,
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
    EVENTS_DUPLICATE,
    PROFILE_CONFLICTS,
)
from processors.profiles.model import EnterpriseProfile, PersonProfile
from processors.profiles.reducers import apply_to_enterprise, apply_to_person, index_entries
from processors.profiles.store import EntityRef, IndexOp, Loaded, ProfileStore, Write
from rules.base import Clear, Facts, Need, Verdict
from rules.engine import RuleEngine
from streams.alert import Alert
from streams.codec import Decoder
from streams.event import Event
from streams.schemas.common import Family

MAX_CAS_ATTEMPTS = 20


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


@dataclass(slots=True)
class _Working:
    """A profile being updated in this batch."""

    loaded: Loaded
    profile: EnterpriseProfile | PersonProfile
    before: dict[str, float]
    applied: list[str] = field(default_factory=list)


class BatchProcessor:
    def __init__(
        self,
        *,
        decoder: Decoder,
        families: Mapping[str, Family],
        store: ProfileStore,
        alerts: AlertWriter,
        engine: RuleEngine,
        dead_letters: DeadLetterSink,
        clock: Clock,
    ) -> None:
        self._decoder = decoder
        self._families = families
        self._store = store
        self._alerts = alerts
        self._engine = engine
        self._dead_letters = dead_letters
        self._clock = clock

    async def process(self, batch: Sequence[Incoming]) -> BatchReport:
        started = time.perf_counter()
        report = BatchReport()
        events, letters = self._decode(batch)
        report.accepted, report.dead_lettered = len(events), len(letters)
        if letters:
            await self._dead_letters.dead_letter(letters)
        if events:
            profiles, duplicates = await self._apply(events)
            report.duplicates = len(duplicates)
            report.applied = len(events) - len(duplicates)
            hits = await self._evaluate(events, profiles)
            report.alerts = await self._write_alerts(hits)
        BATCH_SIZE.observe(len(batch))
        BATCH_SECONDS.observe(time.perf_counter() - started)
        return report

    # -- decode -------------------------------------------------------------------------

    def _decode(
        self, batch: Sequence[Incoming]
    ) -> tuple[list[tuple[Incoming, Event]], list[DeadLetter]]:
        events: list[tuple[Incoming, Event]] = []
        letters: list[DeadLetter] = []
        consumed: dict[tuple[str, str], int] = defaultdict(int)
        for msg in batch:
            try:
                event = self._decoder.decode(msg.value, self._families.get(msg.topic))
            except InvalidEvent as exc:
                letters.append(DeadLetter(msg, exc))
                EVENTS_DEAD_LETTERED.labels(msg.topic, exc.reason.value).inc()
                continue
            events.append((msg, event))
            consumed[(msg.topic, event.type)] += 1
        for (topic, etype), n in consumed.items():
            EVENTS_CONSUMED.labels(topic, etype).inc(n)
        return events, letters

    # -- apply: exactly once per (event, profile) ----------------------------------------

    async def _apply(
        self, events: Sequence[tuple[Incoming, Event]]
    ) -> tuple[dict[EntityRef, EnterpriseProfile | PersonProfile], set[int]]:
        by_ref: dict[EntityRef, list[int]] = defaultdict(list)
        for i, (_, event) in enumerate(events):
            by_ref[_ref(event)].append(i)
        profiles: dict[EntityRef, EnterpriseProfile | PersonProfile] = {}
        duplicates: set[int] = set()
        finish: list[tuple[EntityRef, int, Sequence[IndexOp]]] = []
        todo = set(by_ref)
        for _attempt in range(MAX_CAS_ATTEMPTS):
            loaded = await self._store.load(
                {ref: {events[i][1].eid for i in by_ref[ref]} for ref in todo}
            )
            writes: list[Write] = []
            working: dict[EntityRef, _Working] = {}
            for ref in todo:
                work = _start(ref, loaded[ref])
                for i in by_ref[ref]:
                    eid = events[i][1].eid
                    if eid in work.loaded.seen or eid in work.applied:
                        duplicates.add(i)
                        continue
                    duplicates.discard(i)
                    _fold(work.profile, events[i][1])
                    work.applied.append(eid)
                working[ref] = work
                profiles[ref] = work.profile
                if work.applied:
                    writes.append(_write(ref, work))
                elif work.loaded.pending:
                    finish.append((ref, work.loaded.version, work.loaded.pending))
            results = await self._store.commit(writes)
            conflicted = {ref for ref, version in results.items() if version is None}
            for w in writes:
                version = results[w.ref]
                if version is not None:
                    finish.append((w.ref, version, w.index_ops))
            if not conflicted:
                break
            PROFILE_CONFLICTS.inc(len(conflicted))
            todo = conflicted
        else:
            raise StoreError(f"{len(todo)} profiles kept changing under this worker")
        await self._store.finish_indices(finish)
        for i in duplicates:
            EVENTS_DUPLICATE.labels(events[i][0].topic).inc()
        return profiles, duplicates

    # -- evaluate ------------------------------------------------------------------------

    async def _evaluate(
        self,
        events: Sequence[tuple[Incoming, Event]],
        profiles: Mapping[EntityRef, EnterpriseProfile | PersonProfile],
    ) -> list[tuple[Verdict, Event, int]]:
        ruled = [(msg, ev) for msg, ev in events if self._engine.rules_for(ev.type)]
        if not ruled:
            return []
        # Person events fan out to the live enterprises that person serves.
        fan_out = {f"person:{ev.subject.id}" for _, ev in ruled if ev.subject.kind == "person"}
        served = await self._store.hubs(fan_out, cap=10_000) if fan_out else {}
        pairs: list[tuple[Incoming, Event, str]] = []
        for msg, ev in ruled:
            if ev.subject.kind == "enterprise":
                pairs.append((msg, ev, ev.subject.id))
            else:
                pairs += [(msg, ev, uscc) for uscc, _ in served[f"person:{ev.subject.id}"].members]
        enterprises = await self._enterprises({uscc for _, _, uscc in pairs}, profiles)
        people_keys: set[str] = set()
        hub_names: set[str] = set()
        for _, ev, uscc in pairs:
            ent = enterprises.get(uscc)
            if ent is None:
                continue
            needs = self._engine.needs_for(ev.type)
            if Need.PEOPLE in needs:
                people_keys.update(p.key for p in ent.people())
            if Need.ADDRESS_HUB in needs and ent.address_norm:
                hub_names.add(f"addr:{ent.address_norm}")
            if Need.PERSON_HUBS in needs:
                hub_names.update(f"person:{p.key}" for p in ent.people())
        people = await self._people(people_keys, profiles)
        hubs = await self._store.hubs(hub_names) if hub_names else {}
        hits: list[tuple[Verdict, Event, int]] = []
        for msg, ev, uscc in pairs:
            ent = enterprises.get(uscc)
            if ent is None:
                continue
            facts = Facts(
                enterprise=ent,
                people={p.key: people[p.key] for p in ent.people() if p.key in people},
                hubs=hubs,
            )
            hits += [(hit, ev, msg.timestamp_ms) for hit in self._engine.evaluate(ev, facts)]
        return hits

    async def _enterprises(
        self, usccs: set[str], known: Mapping[EntityRef, EnterpriseProfile | PersonProfile]
    ) -> dict[str, EnterpriseProfile]:
        out: dict[str, EnterpriseProfile] = {}
        missing = set()
        for uscc in usccs:
            profile = known.get(EntityRef("ent", uscc))
            if isinstance(profile, EnterpriseProfile):
                out[uscc] = profile
            else:
                missing.add(EntityRef("ent", uscc))
        for ref, doc in (await self._store.docs(missing)).items():
            out[ref.id] = EnterpriseProfile.model_validate_json(doc)
        return out

    async def _people(
        self, keys: set[str], known: Mapping[EntityRef, EnterpriseProfile | PersonProfile]
    ) -> dict[str, PersonProfile]:
        out: dict[str, PersonProfile] = {}
        missing = set()
        for key in keys:
            profile = known.get(EntityRef("per", key))
            if isinstance(profile, PersonProfile):
                out[key] = profile
            else:
                missing.add(EntityRef("per", key))
        for ref, doc in (await self._store.docs(missing)).items():
            out[ref.id] = PersonProfile.model_validate_json(doc)
        return out

    # -- alerts --------------------------------------------------------------------------

    async def _write_alerts(self, verdicts: Sequence[tuple[Verdict, Event, int]]) -> list[Alert]:
        """Fold the batch's verdicts, in order, into the open alert of each fingerprint."""
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
            upserts = [u for fp in todo for u in _fold_alerts(current.get(fp), by_fp[fp], now)]
            results = await self._alerts.upsert(upserts)
            retry = {
                u.alert.fingerprint for u, seq in zip(upserts, results, strict=True) if seq is None
            }
            for u, seq in zip(upserts, results, strict=True):
                if seq is not None and u.alert.fingerprint not in retry:
                    written.append(u.alert)
                    ALERTS_FIRED.labels(
                        u.alert.rule_id, u.alert.severity.value, u.change.value
                    ).inc()
            if not retry:
                return written
            todo = list(retry)
        raise StoreError(f"{len(todo)} alerts kept changing under this worker")


def _fold_alerts(
    open_alert: Alert | None, items: Sequence[tuple[Verdict, Event, int]], now: datetime
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
        upserts.append(Upsert(alert, expected, change, received))
    return upserts


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
        doc=work.profile.model_dump_json().encode(),
        applied=work.applied,
        index_ops=ops,
    )
