"""Grades are stored in the compact encoding on the real Redis (the current grade, every
kept letter change and revision), in a fraction of their JSON; grades stored as JSON by an
earlier release keep working (read, compared, fed from the outbox), and ``riskwire state
migrate`` encodes each one left, once, without changing what the store answers."""

from __future__ import annotations

import itertools
import random
import uuid
from typing import Any

import pytest
from redis.asyncio import Redis

from core.clock import FakeClock
from processors import grade_codec
from processors.grades import (
    GradeChange,
    GradeStore,
    Recorded,
    current_key,
    history_key,
    outbox_key,
    revisions_key,
)
from processors.profiles.migrate import StateMigration
from rules.grading import Grade
from simulate import samples

from .test_grade_store import DAY, T0, feed_of, graded, steady

pytestmark = [pytest.mark.redis]


def new_uscc() -> str:
    return samples.make_uscc(random.Random(uuid.uuid4().int))


async def history_of(store: GradeStore, uscc: str) -> list[Grade]:
    """A grade history with both kinds of kept grades: letter changes and revisions."""
    grades = [steady(uscc, T0), graded(uscc, T0 + DAY, abnormal=True)]
    grades += [graded(uscc, T0 + DAY * i, failures=i % 2) for i in range(2, 5)]
    changes = [GradeChange(uscc, None, grades[0], 1)]
    changes += [
        GradeChange(uscc, a, b, i + 2) for i, (a, b) in enumerate(itertools.pairwise(grades))
    ]
    outcomes = await store.record(changes)
    assert Recorded.REVISED in outcomes
    assert outcomes.count(Recorded.CHANGED) == 3
    return grades


async def stored(redis: Redis, uscc: str) -> list[bytes]:
    """Every stored grade of ``uscc``: the current one, then the kept ones."""
    current: Any = await redis.hget(current_key(uscc), "doc")
    kept: Any = [*await redis.zrange(history_key(uscc), 0, -1)]
    kept += await redis.zrange(revisions_key(uscc), 0, -1)
    return [current, *kept]


async def test_every_stored_grade_is_compact(redis: Redis) -> None:
    uscc = new_uscc()
    await history_of(GradeStore(redis), uscc)
    docs = await stored(redis, uscc)
    assert len(docs) >= 5
    for doc in docs:
        assert doc.startswith(grade_codec.PREFIX), doc[:40]
    # the grade with factors (the zh-CN sentences are most of it) in well under half
    steady_doc = max(docs, key=lambda d: len(grade_codec.decode_json(d)))
    assert len(steady_doc) < len(grade_codec.decode_json(steady_doc)) / 2


async def _as_an_earlier_release(redis: Redis, uscc: str) -> None:
    """Store every grade of ``uscc`` as JSON, as releases before the encoding did."""
    doc: Any = await redis.hget(current_key(uscc), "doc")
    await redis.hset(current_key(uscc), "doc", grade_codec.decode_json(doc))
    for key in (history_key(uscc), revisions_key(uscc)):
        pairs: Any = await redis.zrange(key, 0, -1, withscores=True)
        for member, score in pairs:
            await redis.zrem(key, member)
            await redis.zadd(key, {grade_codec.decode_json(member): score})


async def test_json_grades_are_read_then_migrated_once(redis: Redis) -> None:
    store = GradeStore(redis)
    usccs = [new_uscc() for _ in range(2)]
    for uscc in usccs:
        await history_of(store, uscc)
    before = {u: (await store.current([u]), await store.history(u)) for u in usccs}
    for uscc in usccs:
        await _as_an_earlier_release(redis, uscc)
        assert all(d[:1] == b"{" for d in await stored(redis, uscc))
    read_as_json = {u: (await store.current([u]), await store.history(u)) for u in usccs}
    assert read_as_json == before
    assert await store.as_of(usccs[0], T0 + DAY) == before[usccs[0]][1][-2]

    done = await StateMigration(redis, FakeClock(T0)).run()
    assert done.grades >= 2 * 6  # (and any JSON grade of the session's database)
    for uscc in usccs:
        assert all(d.startswith(grade_codec.PREFIX) for d in await stored(redis, uscc))
    assert {u: (await store.current([u]), await store.history(u)) for u in usccs} == before
    assert (await StateMigration(redis, FakeClock(T0)).run()).grades == 0

    # A migrated grade is the one the store writes: the same grade again adds no member.
    last = before[usccs[0]][0][usccs[0]]
    kept = len(await stored(redis, usccs[0]))
    again = GradeChange(usccs[0], last, last, 99)
    assert await store.record([again]) == [Recorded.UNCHANGED]
    assert len(await stored(redis, usccs[0])) == kept


async def test_an_outbox_entry_left_as_json_is_fed_and_removed(redis: Redis) -> None:
    store, uscc = GradeStore(redis), new_uscc()
    b = graded(uscc, T0)
    await store.record([GradeChange(uscc, None, b, 1)])
    assert [m["grade"] for m in await feed_of(redis, uscc)] == ["B"]
    c = graded(uscc, T0 + DAY, abnormal=True)
    await redis.rpush(outbox_key(uscc), b"B|" + c.model_dump_json().encode())  # not yet fed
    d = graded(uscc, T0 + 2 * DAY, failures=1)  # the next record feeds what waits
    await store.record([GradeChange(uscc, b, d, 2)])
    fed = await feed_of(redis, uscc)
    assert [(m["previous_grade"], m["grade"]) for m in fed] == [(None, "B"), ("B", "C")]
    assert await redis.llen(outbox_key(uscc)) == 0
