"""The batch processor on the real Redis stores: redelivery, two workers racing on one
profile, a crash between the profile commit and the index update, index updates that land
late (after a newer version's), and the alert feed.

These tests build their own :class:`BatchProcessor` (no faust) on the session's Redis
database. Every test uses fresh event sources and enterprise ids, so the database need not
be flushed and a test never sees another's data; the alert feed is shared, so feed entries
are counted per enterprise.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from datetime import timedelta
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from alerts import feed_codec
from alerts.store import DOC_KEY, FEED_KEY, AlertStore
from core.redis_client import redis_client
from processors.grades import GradeStore
from processors.pipeline import BatchReport
from processors.profiles.codec import decode
from processors.profiles.redis import RedisProfileStore, doc_key
from rules.engine import RuleEngine, default_rules
from simulate.factory import EventFactory
from streams.address import normalise_address
from streams.codec import Decoder
from streams.profile import EnterpriseProfile, PersonProfile
from streams.profile_reducers import index_entries
from streams.profile_store import EntityRef, Hub, IndexOp, Loaded, Stamp, Write

from ..unit.pipeline_kit import T0, CollectedLetters, Feeder, processor

pytestmark = [pytest.mark.redis]


class Killed(Exception):
    """The worker died here (``kill -9`` between two steps)."""


class Probe:
    """A ProfileStore that passes every call to the Redis store, counts the commits that
    lost a compare-and-set, can take a random while (``jitter`` seconds at most) between a
    load and the commit, and can die, or wait for a ``gate``, before updating indices."""

    def __init__(self, inner: RedisProfileStore, *, die_before_indices: bool = False) -> None:
        self.inner = inner
        self.die_before_indices = die_before_indices
        self.conflicts = 0
        self.jitter = 0.0
        self.gate: asyncio.Event | None = None
        self.at_gate = asyncio.Event()

    async def load(self, asks: Mapping[EntityRef, Collection[Stamp]]) -> dict[EntityRef, Loaded]:
        loaded = await self.inner.load(asks)
        if self.jitter:  # a worker that takes a while between its read and its write
            await asyncio.sleep(random.random() * self.jitter)
        return loaded

    def stored_form(self, doc: bytes) -> bytes:
        return self.inner.stored_form(doc)

    async def commit(self, writes: Sequence[Write]) -> dict[EntityRef, int | None]:
        results = await self.inner.commit(writes)
        self.conflicts += sum(1 for v in results.values() if v is None)
        return results

    async def finish_indices(
        self, done: Sequence[tuple[EntityRef, int, Sequence[IndexOp]]]
    ) -> set[EntityRef]:
        if self.die_before_indices and done:
            raise Killed
        if self.gate is not None:  # also with nothing to finish: the writer is just late
            self.at_gate.set()
            await self.gate.wait()
        return await self.inner.finish_indices(done)

    async def apply_index_ops(self, ops: Sequence[IndexOp]) -> None:
        await self.inner.apply_index_ops(ops)

    async def hubs(self, indices: Collection[str], cap: int = 500) -> dict[str, Hub]:
        return await self.inner.hubs(indices, cap)

    async def docs(self, refs: Collection[EntityRef]) -> dict[EntityRef, bytes]:
        return await self.inner.docs(refs)

    async def versions(self, refs: Collection[EntityRef]) -> dict[EntityRef, int]:
        return await self.inner.versions(refs)


class Harness(Feeder):
    """One worker's processor on its own Redis connection."""

    def __init__(
        self,
        redis: Redis,
        decoder: Decoder,
        *,
        die_before_indices: bool = False,
        rules: bool = True,
    ) -> None:
        self.redis = redis
        self.store = Probe(RedisProfileStore(redis), die_before_indices=die_before_indices)
        self.alerts = AlertStore(redis)
        self.grades = GradeStore(redis)
        self.dlq = CollectedLetters()
        super().__init__(
            processor(
                decoder,
                store=self.store,
                alerts=self.alerts,
                grades=self.grades,
                engine=RuleEngine(default_rules() if rules else []),
                dead_letters=self.dlq,
            )
        )

    async def raw(self, uscc: str) -> dict[bytes, bytes]:
        return await self.redis.hgetall(doc_key(EntityRef("ent", uscc)))

    async def profile(self, uscc: str) -> EnterpriseProfile:
        return EnterpriseProfile.model_validate_json(decode((await self.raw(uscc))[b"doc"]))


@pytest.fixture
async def redis_factory(services: dict[str, str]) -> AsyncIterator[Any]:
    """New connections to the session's test database (one per simulated worker)."""
    clients: list[Redis] = []

    def make() -> Redis:
        clients.append(redis_client(services["redis"]))
        return clients[-1]

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def h(redis_factory: Any, decoder: Decoder) -> Harness:
    return Harness(redis_factory(), decoder)


@pytest.fixture
def events() -> EventFactory:
    """A factory of events no other test (or earlier run) has produced."""
    return EventFactory(source=f"it-{uuid.uuid4().hex[:10]}", seed=random.randrange(1 << 30))


def unique_address(rng: random.Random) -> str:
    return f"广东省深圳市南山区桂湾{rng.randrange(10**6)}路{rng.randrange(1, 999)}号"


async def test_a_redelivered_batch_changes_nothing(h: Harness, events: EventFactory) -> None:
    uscc = events.uscc()
    batch = [
        events.registered(uscc, time=T0),
        events.event("contact.failed", uscc, {"department": "samr", "channel": "phone"}, time=T0),
        events.tax_paid(uscc, time=T0),
    ]
    first = await h.feed(*batch, batch[1])  # and a duplicate inside the batch
    assert (first.applied, first.duplicates) == (3, 1)
    before = await h.raw(uscc)
    assert before[b"ver"] == b"1"
    again = await h.feed(*batch)
    assert (again.accepted, again.applied, again.duplicates) == (3, 0, 3)
    assert await h.raw(uscc) == before  # byte-identical, same version, no pending note
    profile = await h.profile(uscc)
    assert len(profile.contact_failures) == 1
    assert profile.event_counts == {"enterprise.registered": 1, "contact.failed": 1, "tax.paid": 1}


async def test_two_workers_racing_on_one_profile_lose_no_update(
    redis_factory: Any, decoder: Decoder, events: EventFactory
) -> None:
    # No rules: the race is the profile store's (and the window rules cost O(n²) per event
    # on a profile with hundreds of failed contacts, which only slows the test down).
    a = Harness(redis_factory(), decoder, rules=False)
    b = Harness(redis_factory(), decoder, rules=False)
    a.store.jitter = b.store.jitter = 0.002  # or the two may fall into a lockstep
    uscc = events.uscc()
    await a.feed(events.registered(uscc, time=T0))
    fails = [
        events.event(
            "contact.failed",
            uscc,
            {"department": "samr", "channel": "phone"},
            time=T0 + timedelta(minutes=i),
        )
        for i in range(400)
    ]
    mine, theirs = fails[0::2], fails[1::2]  # disjoint, interleaved in time

    async def run(worker: Harness, share: list[dict[str, Any]]) -> list[BatchReport]:
        return [await worker.feed(*share[i : i + 4]) for i in range(0, len(share), 4)]

    reports = [r for rs in await asyncio.gather(run(a, mine), run(b, theirs)) for r in rs]
    assert sum(r.applied for r in reports) == 400
    assert sum(r.duplicates for r in reports) == 0
    # The race was real: commits lost their compare-and-set and were re-applied.
    assert a.store.conflicts + b.store.conflicts > 0

    profile = await a.profile(uscc)
    assert len(profile.contact_failures) == 400
    assert profile.event_counts["contact.failed"] == 400
    assert sorted(t.event_id for t in profile.contact_failures) == sorted(e["id"] for e in fails)
    after = await a.raw(uscc)
    assert after[b"ver"] == b"101"  # one write per batch: registration + 2 × 50 batches

    again = await b.feed(*reversed(fails))  # the union once more, in one batch
    assert (again.applied, again.duplicates) == (0, 400)
    assert await a.raw(uscc) == after


async def test_two_workers_racing_on_one_person_lose_no_update(
    redis_factory: Any, decoder: Decoder, events: EventFactory
) -> None:
    """The same race on a person's profile (court events keyed by the person)."""
    a = Harness(redis_factory(), decoder, rules=False)
    b = Harness(redis_factory(), decoder, rules=False)
    a.store.jitter = b.store.jitter = 0.002
    who = events.person()
    listings = [
        events.debtor_listed_person(
            who, case_no=f"(2026)粤0305执{i}号", time=T0 + timedelta(minutes=i)
        )
        for i in range(100)
    ]
    ref = EntityRef("per", decoder.decode(orjson.dumps(listings[0])).subject.id)

    async def run(worker: Harness, share: list[dict[str, Any]]) -> list[BatchReport]:
        return [await worker.feed(*share[i : i + 2]) for i in range(0, len(share), 2)]

    reports = [
        r for rs in await asyncio.gather(run(a, listings[0::2]), run(b, listings[1::2])) for r in rs
    ]
    assert sum(r.applied for r in reports) == 100
    assert a.store.conflicts + b.store.conflicts > 0
    person = PersonProfile.model_validate_json(decode(await a.redis.hget(doc_key(ref), "doc")))
    assert len(person.debtor_cases) == 100
    assert person.event_counts == {"debtor.listed": 100}


@pytest.mark.parametrize("then", ["redelivery", "next event"])
@pytest.mark.parametrize("crashed_on", ["registration", "address change"])
async def test_a_crash_between_commit_and_indices_is_finished_by_the_next_reader(
    redis_factory: Any, decoder: Decoder, events: EventFactory, crashed_on: str, then: str
) -> None:
    redis = redis_factory()
    live = Harness(redis, decoder)
    dying = Harness(redis, decoder, die_before_indices=True)
    uscc = events.uscc()
    registered = events.registered(uscc, address=unique_address(events.rng), time=T0)
    if crashed_on == "registration":
        crashing = registered
        old_indices: dict[str, float] = {}
    else:
        await live.feed(registered)
        old_indices = index_entries(await live.profile(uscc))
        assert any(ix.startswith("addr:") for ix in old_indices)
        crashing = events.changed(
            uscc, "address_registered", unique_address(events.rng), time=T0 + timedelta(days=1)
        )

    with pytest.raises(Killed):
        await dying.feed(crashing)
    # The profile is committed (so a redelivery is a duplicate) but the indices are not.
    ref = EntityRef("ent", uscc)
    event = decoder.decode(orjson.dumps(crashing))
    loaded = (await live.store.load({ref: {Stamp(event.source, event.eid, event.time)}}))[ref]
    assert loaded.seen
    assert loaded.pending
    new_indices = index_entries(await live.profile(uscc))
    assert new_indices != old_indices
    stale = await live.store.hubs(new_indices.keys() | old_indices.keys())
    assert {ix for ix, hub in stale.items() if uscc in dict(hub.members)} == set(old_indices)

    if then == "redelivery":
        report = await live.feed(crashing)
        assert (report.applied, report.duplicates) == (0, 1)
    else:
        report = await live.feed(events.tax_paid(uscc, time=T0 + timedelta(days=2)))
        assert (report.applied, report.duplicates) == (1, 0)

    assert index_entries(await live.profile(uscc)) == new_indices
    hubs = await live.store.hubs(new_indices.keys() | old_indices.keys())
    for ix, hub in hubs.items():
        members = dict(hub.members)
        if ix in new_indices:
            assert members.get(uscc) == new_indices[ix], ix
        else:
            assert uscc not in members, ix  # the old address no longer lists it
    assert (await live.store.load({ref: set()}))[ref].pending == []
    assert b"ix" not in await live.raw(uscc)


@pytest.mark.parametrize(
    "late",
    ["slow writer", "redelivery finishing a crashed writer's note", "next event carrying it"],
)
async def test_a_late_index_update_does_not_undo_a_newer_version(
    redis_factory: Any, decoder: Decoder, events: EventFactory, late: str
) -> None:
    """A version's index ops may land after a newer version's (a slow writer); the writer
    learns it from the version-checked acknowledgement and repairs what it touched.

    The enterprise moves A -> B -> C. The move to B is committed (v2) but its index update
    (ZREM A, ZADD B) is late: its writer is slow; or it crashed and the next reader picks up
    the note (a redelivery of the move, or a new event of another topic, which a restarted
    worker processes concurrently) and is slow. Meanwhile the move to C commits and updates
    the indices (it carries the note: ZREM A, ZADD B, then ZREM B, ZADD C). The late update
    then lands and would put the enterprise back on address B, where it no longer is."""
    live = Harness(redis_factory(), decoder)
    late_worker = Harness(redis_factory(), decoder)
    late_worker.store.gate = asyncio.Event()
    uscc = events.uscc()
    a, b, c = (unique_address(events.rng) for _ in range(3))
    hub = {x: f"addr:{normalise_address(x)}" for x in (a, b, c)}
    await live.feed(events.registered(uscc, address=a, time=T0))
    to_b = events.changed(uscc, "address_registered", b, time=T0 + timedelta(days=1))
    to_c = events.changed(uscc, "address_registered", c, time=T0 + timedelta(days=2))

    if late == "slow writer":
        slow = asyncio.create_task(late_worker.feed(to_b))
    else:
        with pytest.raises(Killed):
            await Harness(redis_factory(), decoder, die_before_indices=True).feed(to_b)
        nxt = to_b if late.startswith("redelivery") else events.tax_paid(uscc, time=T0)
        slow = asyncio.create_task(late_worker.feed(nxt))
    await asyncio.wait_for(late_worker.store.at_gate.wait(), timeout=10)
    assert (await live.profile(uscc)).address_registered == b  # the move to B is committed

    await live.feed(to_c)  # committed, indices updated
    late_worker.store.gate.set()
    await asyncio.wait_for(slow, timeout=10)

    profile = await live.profile(uscc)
    assert profile.address_registered == c
    hubs = await live.store.hubs(hub.values())
    members = {x: dict(hubs[hub[x]].members) for x in (a, b, c)}
    assert uscc in members[c]
    assert uscc not in members[a]
    assert uscc not in members[b], (
        "the late index update of the move to B re-added the enterprise to address B after "
        "the move to C; nothing would ever remove it (the pending note is gone)"
    )


@pytest.mark.parametrize("kind", ["person", "enterprise"])
async def test_a_late_acknowledgement_without_index_ops_is_harmless(
    redis_factory: Any, decoder: Decoder, events: EventFactory, kind: str
) -> None:
    """A writer whose acknowledgement finds the profile moved on, though it changed no
    index (every person write; most enterprise writes), has nothing to repair: its batch
    succeeds and the profiles keep both writes."""
    live = Harness(redis_factory(), decoder, rules=False)
    late_worker = Harness(redis_factory(), decoder, rules=False)
    late_worker.store.gate = asyncio.Event()
    if kind == "person":
        who = events.person()
        first, second = (
            events.debtor_listed_person(who, case_no=f"(2026)粤0305执{n}号", time=T0)
            for n in (1, 2)
        )
    else:
        uscc = events.uscc()
        await live.feed(events.registered(uscc, time=T0))
        first, second = (events.tax_paid(uscc, time=T0) for _ in range(2))
    ref = _ref_of(decoder, first)

    slow = asyncio.create_task(late_worker.feed(first))
    await asyncio.wait_for(late_worker.store.at_gate.wait(), timeout=10)
    await live.feed(second)  # the profile moves on before the slow writer's acknowledgement
    late_worker.store.gate.set()
    report = await asyncio.wait_for(slow, timeout=10)

    assert (report.applied, report.duplicates) == (1, 0)
    loaded = (await live.store.load({ref: set()}))[ref]
    assert loaded.pending == []
    assert json_counts(loaded.doc) == {second["type"]: 2} | (
        {"enterprise.registered": 1} if kind == "enterprise" else {}
    )


def _ref_of(decoder: Decoder, event: dict[str, Any]) -> EntityRef:
    subject = decoder.decode(orjson.dumps(event)).subject
    return EntityRef("ent" if subject.kind == "enterprise" else "per", subject.id)


def json_counts(doc: bytes | None) -> dict[str, int]:
    assert doc is not None
    return dict(orjson.loads(doc)["event_counts"])


async def test_a_replayed_hit_adds_nothing_to_the_feed(h: Harness, events: EventFactory) -> None:
    """One feed entry per alert change: a replayed hit (the same events again, or twice in a
    batch) publishes nothing; new evidence publishes one revision."""
    uscc = events.uscc()
    [(last_id, _)] = await h.redis.xrevrange(FEED_KEY, count=1) or [(b"0-0", {})]

    async def feed_of_uscc() -> list[dict[str, Any]]:
        """The feed entries appended since the test began that concern this enterprise."""
        entries = await h.redis.xrange(FEED_KEY, min=b"(" + last_id)
        docs = [orjson.loads(feed_codec.decode(fields[b"alert"])) for _, fields in entries]
        return [d for d in docs if d["subject"]["id"] == uscc or uscc in d["enterprises"]]

    def tax_arrears(alerts: list[Any]) -> list[Any]:
        # Other rules may fire too on the random people of a registration.
        return [a for a in alerts if a.rule_id == "tax_arrears"]

    reg, arrears = events.registered(uscc, time=T0), events.tax_arrears(uscc, 500_000.0, time=T0)
    first = await h.feed(reg, arrears)
    [created] = tax_arrears(first.alerts)
    published = len(first.alerts)
    assert len(await feed_of_uscc()) == published

    replay = await h.feed(reg, arrears)  # a replay after a crash
    assert replay.alerts == []
    replay = await h.feed(arrears, arrears)
    assert replay.alerts == []
    assert len(await feed_of_uscc()) == published

    later = events.tax_arrears(uscc, 800_000.0, time=T0 + timedelta(days=30))
    grown = await h.feed(later, later)  # new evidence (once, though sent twice)
    [revised] = tax_arrears(grown.alerts)
    assert (revised.alert_id, revised.revision) == (created.alert_id, 2)
    published += len(grown.alerts)
    feed = await feed_of_uscc()
    assert len(feed) == published
    assert [(d["alert_id"], d["revision"]) for d in feed if d["rule_id"] == "tax_arrears"] == [
        (created.alert_id, 1),
        (created.alert_id, 2),
    ]
    assert await h.feed(later) == BatchReport(accepted=1, applied=0, duplicates=1)
    assert len(await feed_of_uscc()) == published
    [open_alert] = (await h.alerts.open_alerts([created.fingerprint])).values()
    assert open_alert.hits == 2


async def test_the_feed_stores_each_alert_compressed_and_the_document_as_json(
    h: Harness, events: EventFactory
) -> None:
    """The feed keeps the whole alert at every change (alerts.feed_codec): compressed, it
    unpacks to the very JSON the alert document holds; the document stays JSON for the
    Lua scripts that read it."""
    uscc = events.uscc()
    [(last_id, _)] = await h.redis.xrevrange(FEED_KEY, count=1) or [(b"0-0", {})]
    reg = events.registered(uscc, time=T0)
    report = await h.feed(reg, events.tax_arrears(uscc, 500_000.0, time=T0))
    assert report.alerts
    entries = await h.redis.xrange(FEED_KEY, min=b"(" + last_id)
    stored = [fields[b"alert"] for _, fields in entries]
    assert stored
    assert all(s.startswith(feed_codec.PREFIX) for s in stored)
    by_id = {orjson.loads(feed_codec.decode(s))["alert_id"]: feed_codec.decode(s) for s in stored}
    docs = await h.redis.hmget(DOC_KEY, list(by_id))
    assert docs == list(by_id.values())
