"""Profiles are stored in the compact encoding on the real Redis, and a profile stored as
JSON before it (state v2 as earlier releases wrote it) keeps working: the worker reads it,
applies new events to it exactly once and stores it encoded; ``riskwire state migrate``
encodes every one left, once. A stored document that is neither is refused as a store
error, never read as an empty profile."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from core.errors import StoreError
from processors.profiles import codec
from processors.profiles.migrate import StateMigration
from processors.profiles.redis import RedisProfileStore, doc_key
from simulate.factory import EventFactory
from streams.codec import Decoder
from streams.profile_store import EntityRef

from ..unit.pipeline_kit import T0
from .horizon_kit import Worker, fresh_events, redis_worker

pytestmark = [pytest.mark.redis]


@pytest.fixture
async def worker(services: dict[str, str], decoder: Decoder) -> AsyncIterator[Worker]:
    async with redis_worker(services["redis"], decoder) as started:
        yield started


@pytest.fixture
def events() -> EventFactory:
    return fresh_events("enc")


async def _stored(worker: Worker, uscc: str) -> bytes:
    raw: bytes = await worker.redis.hget(doc_key(EntityRef("ent", uscc)), "doc")
    return raw


async def test_a_profile_stored_as_json_is_read_and_stored_encoded_on_its_next_write(
    worker: Worker, events: EventFactory
) -> None:
    uscc = events.uscc()
    first = [
        events.registered(uscc, time=T0),
        events.changed(uscc, "capital_paid", 1.0e6, time=T0 + timedelta(hours=1)),
    ]
    await worker.feed(*first)
    stored = await _stored(worker, uscc)
    assert stored.startswith(codec.PREFIX)
    assert len(stored) < len(codec.decode(stored)) / 2
    # As a release before the encoding left it: the same profile, as JSON.
    await worker.redis.hset(doc_key(EntityRef("ent", uscc)), "doc", codec.decode(stored))

    later = events.changed(uscc, "capital_paid", 2.0e6, time=T0 + timedelta(days=1))
    report = await worker.feed(*first, later)
    assert (report.applied, report.duplicates) == (1, 2)
    assert (await _stored(worker, uscc)).startswith(codec.PREFIX)
    profile = await worker.profile(uscc)
    assert profile.event_counts == {"enterprise.registered": 1, "enterprise.changed": 2}
    assert profile.capital_paid == 2.0e6


async def test_state_migrate_encodes_every_json_profile_once(
    worker: Worker, events: EventFactory
) -> None:
    usccs = [events.uscc() for _ in range(3)]
    await worker.feed(*(events.registered(u, time=T0) for u in usccs))
    as_json = {}
    for uscc in usccs[:2]:
        as_json[uscc] = codec.decode(await _stored(worker, uscc))
        await worker.redis.hset(doc_key(EntityRef("ent", uscc)), "doc", as_json[uscc])

    done = await StateMigration(worker.redis, worker.clock).run()
    assert done.encoded >= 2  # (and any other JSON profile of the session's database)
    for uscc, doc in as_json.items():
        stored = await _stored(worker, uscc)
        assert stored.startswith(codec.PREFIX)
        assert codec.decode(stored) == doc
    assert (await StateMigration(worker.redis, worker.clock).run()).encoded == 0


async def test_a_stored_profile_in_no_known_encoding_is_a_store_error(
    worker: Worker, events: EventFactory
) -> None:
    uscc = events.uscc()
    await worker.feed(events.registered(uscc, time=T0))
    ref = EntityRef("ent", uscc)
    await worker.redis.hset(doc_key(ref), "doc", codec.PREFIX + b"\xff\xff not zstd")
    store = RedisProfileStore(worker.redis, clock=worker.clock)
    loaded = (await store.load({ref: []}))[ref]  # unpacked when its JSON is asked for
    with pytest.raises(StoreError, match="does not unpack"):
        _ = loaded.doc
    with pytest.raises(StoreError, match="does not unpack"):
        await store.docs([ref])
    await worker.redis.delete(doc_key(ref))
