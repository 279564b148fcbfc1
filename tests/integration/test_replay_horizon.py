"""The replay horizon on the real Redis stores: the dedup state of a profile forgets what
it applied more than the horizon ago, in the commit itself, and an event it forgot that
arrives again is refused (dead letter ``beyond_horizon``), never applied twice; inside the
horizon a redelivery is an ordinary duplicate. And the state stays flat: a second period
of the same volume with new event ids, played once the horizon has passed, leaves the
profiles' memory (profile, dedup set, grade and grade history) within 10 %.

Each test uses fresh sources and enterprise ids on the session's Redis database, and an
injected clock that the test moves past the horizon.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from core.errors import DlqReason
from core.telemetry import EVENTS_DEAD_LETTERED
from processors.grades import current_key, history_key, outbox_key, revisions_key
from processors.profiles import horizon
from processors.profiles.migrate import StateMigration
from processors.profiles.redis import doc_key, seen_key
from simulate.factory import EventFactory
from streams.codec import Decoder
from streams.profile_store import EntityRef

from ..unit.pipeline_kit import T0
from .horizon_kit import HORIZON, PAST, Worker, fresh_events, redis_worker

pytestmark = [pytest.mark.redis]


@pytest.fixture
async def worker(services: dict[str, str], decoder: Decoder) -> AsyncIterator[Worker]:
    async with redis_worker(services["redis"], decoder) as started:
        yield started


@pytest.fixture
def events() -> EventFactory:
    return fresh_events("hz")


def beyond_count(topic: str) -> float:
    return EVENTS_DEAD_LETTERED.labels(topic, DlqReason.BEYOND_HORIZON)._value.get()


async def test_a_redelivery_inside_the_horizon_is_a_plain_duplicate(
    worker: Worker, events: EventFactory
) -> None:
    uscc = events.uscc()
    registered = events.registered(uscc, time=T0)
    change = events.changed(uscc, "capital_paid", 1_000_000.0, time=T0 + timedelta(hours=1))
    await worker.feed(registered, change)
    # Just short of the horizon: another event's commit forgets nothing yet.
    worker.clock.advance((HORIZON - timedelta(seconds=1)).total_seconds())
    later = events.changed(uscc, "capital_paid", 2_000_000.0, time=T0 + timedelta(days=30))
    assert (await worker.feed(later)).applied == 1
    assert await worker.remembered(uscc) == 3
    again = await worker.feed(registered, change)
    assert (again.applied, again.duplicates, again.dead_lettered) == (0, 2, 0)
    assert worker.dlq.letters == []
    profile = await worker.profile(uscc)
    assert profile.event_counts == {"enterprise.registered": 1, "enterprise.changed": 2}


async def test_an_event_redelivered_after_the_horizon_is_refused_never_applied_twice(
    worker: Worker, events: EventFactory
) -> None:
    uscc = events.uscc()
    registered = events.registered(uscc, time=T0)
    old_change = events.changed(uscc, "capital_paid", 1_000_000.0, time=T0 + timedelta(hours=1))
    await worker.feed(registered, old_change)
    assert await worker.remembered(uscc) == 2
    before = beyond_count("registration.changes")

    worker.clock.advance(PAST.total_seconds())
    # The next commit of this profile forgets the two old identities, in the same step.
    fresh = events.changed(uscc, "capital_paid", 3_000_000.0, time=T0 + PAST)
    assert (await worker.feed(fresh)).applied == 1
    assert await worker.remembered(uscc) == 1
    mark = await worker.redis.hget(
        doc_key(EntityRef("ent", uscc)), horizon.mark_field(horizon.source_tag(events.source))
    )
    assert int(mark) == horizon.business_minute(T0 + timedelta(hours=1))

    # The old ones come back (a producer's resend, a replay from an old offset).
    report = await worker.feed(registered, old_change)
    assert (report.applied, report.duplicates, report.dead_lettered) == (0, 0, 2)
    assert [letter.error.reason for letter in worker.dlq.letters] == [DlqReason.BEYOND_HORIZON] * 2
    assert beyond_count("registration.changes") == before + 2
    profile = await worker.profile(uscc)
    assert profile.event_counts == {"enterprise.registered": 1, "enterprise.changed": 2}
    assert profile.capital_paid == 3_000_000.0  # the refused change did not win again

    # A new event later than the mark is still applied, even one that arrives late.
    late = events.changed(uscc, "phone", "0755-12345678", time=T0 + timedelta(days=20))
    assert (await worker.feed(late)).applied == 1
    assert await worker.remembered(uscc) == 2


async def _play(worker: Worker, events: EventFactory, usccs: list[str], start: Any) -> None:
    """One period: each enterprise registered (first period) and changed 24 times."""
    for n, uscc in enumerate(usccs):
        batch = [
            events.event(
                "tax.arrears",
                uscc,
                {"amount": 1_000.0 + 500 * i + n, "since": "2025-12-01"},
                time=start + timedelta(hours=i),
            )
            for i in range(24)
        ]
        await worker.feed(*batch)


async def _memory(redis: Redis, usccs: list[str]) -> int:
    total = 0
    for uscc in usccs:
        ref = EntityRef("ent", uscc)
        for key in (
            doc_key(ref),
            seen_key(ref),
            current_key(uscc),
            history_key(uscc),
            revisions_key(uscc),
            outbox_key(uscc),
        ):
            total += int(await redis.memory_usage(key, samples=0) or 0)
    return total


async def test_state_stays_flat_over_a_second_period_once_the_horizon_has_passed(
    worker: Worker, events: EventFactory
) -> None:
    usccs = [events.uscc() for _ in range(40)]
    await worker.feed(*(events.registered(u, time=T0) for u in usccs))
    await _play(worker, events, usccs, T0 + timedelta(days=1))
    first = await _memory(worker.redis, usccs)

    worker.clock.advance(PAST.total_seconds())
    await _play(worker, events, usccs, T0 + timedelta(days=1) + PAST)  # new ids, same volume
    second = await _memory(worker.redis, usccs)

    assert worker.dlq.letters == []
    assert second <= first * 1.10, f"{first} bytes after the first period, {second} after"
    assert all([await worker.remembered(u) == 24 for u in usccs])  # the old period forgotten


async def test_state_migrated_from_v1_still_recognises_every_old_event(
    worker: Worker, events: EventFactory, decoder: Decoder
) -> None:
    uscc = events.uscc()
    old = [
        events.registered(uscc, time=T0),
        events.changed(uscc, "capital_paid", 1_000_000.0, time=T0 + timedelta(days=2)),
    ]
    await worker.feed(*old)
    # Put the profile back as v1 kept it: the same hash, a set of hex identities.
    ref, redis = EntityRef("ent", uscc), worker.redis
    v1_doc, v1_seen = f"rw:{{ent:{uscc}}}:v1", f"rw:{{ent:{uscc}}}:seen:v1"
    await redis.rename(doc_key(ref), v1_doc)
    await redis.delete(seen_key(ref))
    await redis.sadd(v1_seen, *(decoder.decode(orjson.dumps(e)).eid for e in old))

    done = await StateMigration(redis, worker.clock).run()
    assert done.profiles >= 1
    assert done.identities >= 2
    assert not await redis.exists(v1_doc, v1_seen)
    assert await worker.remembered(uscc) == 2
    assert (await StateMigration(redis, worker.clock).run()).identities == 0  # idempotent

    again = await worker.feed(*old)  # inside the horizon: plain duplicates
    assert (again.applied, again.duplicates, again.dead_lettered) == (0, 2, 0)
    worker.clock.advance(PAST.total_seconds())
    fresh = events.changed(uscc, "capital_paid", 2_000_000.0, time=T0 + PAST)
    assert (await worker.feed(fresh)).applied == 1
    assert await worker.remembered(uscc) == 1  # the migrated identities are folded
    beyond = await worker.feed(*old)  # ... into the any-source mark: still never applied
    assert (beyond.applied, beyond.duplicates, beyond.dead_lettered) == (0, 0, 2)
    profile = await worker.profile(uscc)
    assert profile.event_counts == {"enterprise.registered": 1, "enterprise.changed": 2}
