"""The grade store on the real Redis: current grades, history, grades as of a past date,
replays that add nothing, one feed entry per change of letter, and the relay.

Every test uses fresh enterprise ids, so tests never see each other's grades; feed entries
are filtered by uscc, since the feed is shared.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from core.errors import StoreError
from processors.grade_relay import GradeRelay
from processors.grades import (
    FEED_KEY,
    GradeChange,
    GradeStore,
    Recorded,
    current_key,
    history_key,
    revisions_key,
)
from rules.grading import Grade, grade
from simulate import samples
from streams.profile import EnterpriseProfile, Listing, Tax, Touch

pytestmark = [pytest.mark.redis]

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def store(redis: Redis) -> GradeStore:
    return GradeStore(redis)


@pytest.fixture
def uscc() -> str:
    return samples.make_uscc(random.Random(uuid.uuid4().int))


def graded(uscc: str, at: datetime, *, failures: int = 0, abnormal: bool = False) -> Grade:
    """B with nothing, B with one failed contact (another score), C when listed."""
    ent = EnterpriseProfile(
        uscc=uscc,
        contact_failures=[Touch(time=at - DAY * i, kind="phone") for i in range(failures)],
        abnormal=Listing(reason_code="other", since=at) if abnormal else None,
    )
    return grade(ent, {}, at)


def steady(uscc: str, at: datetime) -> Grade:
    periods = [f"2025-{m:02d}" for m in range(3, 13)] + ["2026-01", "2026-02"]
    ent = EnterpriseProfile(
        uscc=uscc,
        tax=Tax(
            paid_by_period=dict.fromkeys(periods, 50_000.0),
            insured_employees=12,
            insured_period="2026-02",
        ),
    )
    return grade(ent, {}, at)


async def feed_of(redis: Redis, uscc: str) -> list[dict[str, Any]]:
    entries: Any = await redis.xrange(FEED_KEY)
    messages = [orjson.loads(fields[b"grade"]) for _, fields in entries]
    return [m for m in messages if m["uscc"] == uscc]


async def test_record_then_current(store: GradeStore, uscc: str) -> None:
    other = samples.make_uscc(random.Random(uuid.uuid4().int))
    g = graded(uscc, T0, abnormal=True)
    assert await store.record([GradeChange(uscc, None, g)]) == [Recorded.CHANGED]
    assert await store.current([uscc, other]) == {uscc: g}
    assert (await store.current([uscc]))[uscc].factors == g.factors
    assert await store.current([]) == {}


async def test_history_keeps_every_distinct_grade_newest_first(
    store: GradeStore, uscc: str
) -> None:
    b = graded(uscc, T0)
    b_same = graded(uscc, T0 + DAY)  # same content, a day later: no new history entry
    b_jitter = graded(uscc, T0 + 2 * DAY, failures=1)  # another score, same letter
    c = graded(uscc, T0 + 3 * DAY, abnormal=True)
    outcomes = await store.record(
        [
            GradeChange(uscc, None, b),
            GradeChange(uscc, b, b_same),
            GradeChange(uscc, b_same, b_jitter),
            GradeChange(uscc, b_jitter, c),
        ]
    )
    assert outcomes == [Recorded.CHANGED, Recorded.UNCHANGED, Recorded.REVISED, Recorded.CHANGED]
    assert await store.history(uscc, 10) == [c, b_jitter, b]
    assert await store.history(uscc, 2) == [c, b_jitter]
    assert (await store.current([uscc]))[uscc] == c


async def test_history_keeps_every_letter_change_and_only_the_newest_revisions(
    redis: Redis, uscc: str
) -> None:
    store = GradeStore(redis, revisions_max=3)
    first = graded(uscc, T0)
    # Eight revisions under the same letter: the score moves back and forth.
    revisions = [graded(uscc, T0 + DAY * i, failures=i % 2) for i in range(1, 9)]
    c = graded(uscc, T0 + 20 * DAY, abnormal=True)
    back = graded(uscc, T0 + 30 * DAY)
    grades = [first, *revisions, c, back]
    changes = [GradeChange(uscc, None, first)]
    changes += [GradeChange(uscc, old, new) for old, new in itertools.pairwise(grades)]
    outcomes = await store.record(changes)
    assert outcomes.count(Recorded.REVISED) == 8
    assert outcomes.count(Recorded.CHANGED) == 3
    assert await store.history(uscc) == [back, c, *reversed(revisions[-3:]), first]
    assert await redis.zcard(revisions_key(uscc)) == 3
    assert await store.as_of(uscc, T0 + 7 * DAY) == revisions[6]
    assert await store.as_of(uscc, T0 + 3 * DAY) == first  # its revisions are forgotten
    assert await store.as_of(uscc, T0 + 25 * DAY) == c


async def test_as_of_a_past_date_returns_that_grade_with_its_factors(
    store: GradeStore, uscc: str
) -> None:
    a = steady(uscc, T0)
    c = graded(uscc, T0 + 10 * DAY, abnormal=True)
    await store.record([GradeChange(uscc, None, a), GradeChange(uscc, a, c)])
    assert await store.as_of(uscc, T0 - timedelta(seconds=1)) is None
    on_day_one = await store.as_of(uscc, T0)
    assert on_day_one == a
    assert on_day_one is not None
    assert on_day_one.grade == "A"
    assert [f.text_zh for f in on_day_one.factors] == [f.text_zh for f in a.factors]
    assert await store.as_of(uscc, T0 + 9 * DAY) == a
    assert await store.as_of(uscc, T0 + 10 * DAY) == c
    assert await store.as_of(uscc, T0 + 400 * DAY) == c


async def test_a_replay_adds_nothing(store: GradeStore, redis: Redis, uscc: str) -> None:
    b = graded(uscc, T0)
    c = graded(uscc, T0 + DAY, abnormal=True)
    changes = [GradeChange(uscc, None, b, 1), GradeChange(uscc, b, c, 2)]
    await store.record(changes)
    history, feed = await redis.zcard(history_key(uscc)), await feed_of(redis, uscc)
    current = await redis.hgetall(current_key(uscc))
    assert await store.record(changes[1:]) == [Recorded.UNCHANGED]  # the last event again
    assert await store.record(changes) == [Recorded.STALE, Recorded.UNCHANGED]  # the batch
    assert await redis.zcard(history_key(uscc)) == history == 2
    assert await feed_of(redis, uscc) == feed
    assert await redis.hgetall(current_key(uscc)) == current


async def test_a_grade_from_an_older_profile_writes_nothing(store: GradeStore, uscc: str) -> None:
    now = graded(uscc, T0)
    await store.record([GradeChange(uscc, None, now, 5)])
    older = graded(uscc, T0 + 5 * DAY, abnormal=True)  # a later time, an older profile
    assert await store.record([GradeChange(uscc, now, older, 4)]) == [Recorded.STALE]
    assert (await store.current([uscc]))[uscc] == now
    assert await store.history(uscc) == [now]


async def test_a_newer_profile_may_grade_an_earlier_time(
    store: GradeStore, redis: Redis, uscc: str
) -> None:
    """A person's late facts pushed the grade's time on; the enterprise's own history later
    showed they no longer concern it. The grade from the newer profile, for the earlier
    time, replaces it, and what was kept for times after it leaves the history."""
    a = graded(uscc, T0)
    pushed = graded(uscc, T0 + 300 * DAY, abnormal=True)
    await store.record([GradeChange(uscc, None, a, 1), GradeChange(uscc, a, pushed, 2)])
    fixed = graded(uscc, T0 + 30 * DAY)
    assert await store.record([GradeChange(uscc, pushed, fixed, 3)]) == [Recorded.CHANGED]
    assert (await store.current([uscc]))[uscc] == fixed
    assert await store.history(uscc) == [fixed, a]
    assert await store.as_of(uscc, T0 + 400 * DAY) == fixed
    assert await redis.hget(current_key(uscc), "basis") == b"3"


async def test_the_feed_gets_one_entry_per_change_of_letter(
    store: GradeStore, redis: Redis, uscc: str
) -> None:
    a = steady(uscc, T0)
    b = graded(uscc, T0 + DAY)
    b2 = graded(uscc, T0 + 2 * DAY, failures=1)
    c = graded(uscc, T0 + 3 * DAY, abnormal=True)
    back = graded(uscc, T0 + 4 * DAY, failures=1)
    await store.record([GradeChange(uscc, None, a), GradeChange(uscc, a, b)])
    await store.record([GradeChange(uscc, b, b2)])
    await store.record([GradeChange(uscc, b2, c), GradeChange(uscc, c, back)])
    feed = await feed_of(redis, uscc)
    assert [(m["previous_grade"], m["grade"]) for m in feed] == [
        (None, "A"),
        ("A", "B"),
        ("B", "C"),
        ("C", "B"),
    ]
    last = feed[-1]
    assert list(last) == ["uscc", "grade", "score", "previous_grade", "factors", "time"]
    assert last["score"] == back.score
    assert last["time"] == "2026-03-05T09:00:00Z"
    assert [f["text_zh"] for f in feed[2]["factors"]] == [f.text_zh for f in c.factors]


class CrashingFeed(GradeStore):
    """Dies after recording the grades, before moving their changes to the feed."""

    async def _feed(self, outbox: Any) -> None:
        raise StoreError("killed before feeding")


async def test_a_change_recorded_before_a_crash_is_fed_by_the_replay(
    redis: Redis, store: GradeStore, uscc: str
) -> None:
    c = graded(uscc, T0, abnormal=True)
    with pytest.raises(StoreError):
        await CrashingFeed(redis).record([GradeChange(uscc, None, c)])
    assert await feed_of(redis, uscc) == []
    assert await store.record([GradeChange(uscc, None, c)]) == [Recorded.UNCHANGED]
    assert [m["grade"] for m in await feed_of(redis, uscc)] == ["C"]
    await store.record([GradeChange(uscc, None, c)])  # fed once: the outbox was emptied
    assert len(await feed_of(redis, uscc)) == 1


class Published:
    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes | None, bytes]] = []

    async def publish(self, messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        self.messages += messages


async def test_the_relay_publishes_the_feed_keyed_by_uscc(
    redis: Redis, store: GradeStore, uscc: str
) -> None:
    published = Published()
    relay = GradeRelay(
        redis,
        published,
        topic="t.riskwire.grades",
        consumer="test",
        group=f"test-{uuid.uuid4().hex[:8]}",
        block_ms=10,
    )
    await relay.ensure_group()
    b = graded(uscc, T0)
    await store.record(
        [GradeChange(uscc, None, b), GradeChange(uscc, b, graded(uscc, T0 + DAY, abnormal=True))]
    )
    while await relay.step():
        pass
    mine = [(t, k, orjson.loads(v)) for t, k, v in published.messages if k == uscc.encode()]
    assert [(t, m["grade"]) for t, _, m in mine] == [
        ("t.riskwire.grades", "B"),
        ("t.riskwire.grades", "C"),
    ]
    assert await relay.step() == 0  # acknowledged
