"""One contract suite for every :class:`~streams.profile_store.ProfileStore`: the
in-memory store the unit tests use and the Redis store the worker uses must behave alike.

Each test works in its own key space (random profile ids and index names), so the suite
can share the session's Redis database with other tests; the Redis keys are removed after.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from core.clock import FakeClock
from core.redis_client import redis_client
from processors.profiles.horizon import business_minute
from processors.profiles.memory import MemoryProfileStore
from processors.profiles.redis import RedisProfileStore
from streams.event import event_identity
from streams.profile_store import EntityRef, IndexOp, ProfileStore, Stamp, Write

pytestmark = [pytest.mark.redis]

SOURCE = "contract-test"
T = datetime(2026, 1, 1, tzinfo=UTC)
CLOCK_START = datetime(2026, 6, 1, 8, tzinfo=UTC)  # on the hour
HORIZON = timedelta(days=35)


def st(*names: str, source: str = SOURCE, at: datetime = T) -> list[Stamp]:
    """The stamps of events named ``names`` (their ids), all of business time ``at``."""
    return [Stamp(source, event_identity(source, n), at) for n in names]


def ids(*names: str, source: str = SOURCE) -> set[str]:
    return {event_identity(source, n) for n in names}


@dataclass
class Space:
    """A store, the clock it commits by and a key space nobody else uses."""

    store: ProfileStore
    token: str
    clock: FakeClock

    def ent(self, n: int = 0) -> EntityRef:
        return EntityRef("ent", f"T{self.token}E{n}")

    def per(self, n: int = 0) -> EntityRef:
        return EntityRef("per", f"t{self.token}p{n}")

    def index(self, name: str) -> str:
        return f"addr:{self.token}:{name}"

    async def write(
        self,
        ref: EntityRef,
        expected: int,
        doc: bytes,
        applied: list[Stamp] | None = None,
        ops: list[IndexOp] | None = None,
    ) -> int | None:
        result = await self.store.commit([Write(ref, expected, doc, applied or [], ops or [])])
        assert set(result) == {ref}
        return result[ref]


@pytest.fixture(params=["memory", "redis"])
async def space(request: pytest.FixtureRequest, services: dict[str, str]) -> AsyncIterator[Space]:
    token = uuid.uuid4().hex[:12]
    clock = FakeClock(CLOCK_START)
    if request.param == "memory":
        yield Space(MemoryProfileStore(clock=clock, replay_horizon=HORIZON), token, clock)
        return
    client = redis_client(services["redis"])  # the session's test database
    try:
        yield Space(RedisProfileStore(client, clock=clock, replay_horizon=HORIZON), token, clock)
    finally:
        keys = [k async for k in client.scan_iter(match=f"rw:*{token}*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_an_unknown_profile_loads_as_new(space: Space) -> None:
    ent, per = space.ent(), space.per()
    loaded = await space.store.load({ent: set(st("e1", "e2")), per: set()})
    assert set(loaded) == {ent, per}
    for ref in (ent, per):
        assert loaded[ref].doc is None
        assert loaded[ref].version == 0
        assert loaded[ref].seen == set()
        assert loaded[ref].pending == []
    assert await space.store.load({}) == {}


async def test_commit_with_the_expected_version_bumps_it(space: Space) -> None:
    a, b = space.ent(1), space.per(2)
    results = await space.store.commit(
        [Write(a, 0, b'{"v":1}', st("e1"), []), Write(b, 0, b'{"p":1}', st("e1"), [])]
    )
    assert results == {a: 1, b: 1}
    assert await space.write(a, 1, b'{"v":2}', st("e2")) == 2
    assert await space.write(a, 2, b'{"v":3}', st("e3")) == 3
    loaded = await space.store.load({a: set(), b: set()})
    assert (loaded[a].doc, loaded[a].version) == (b'{"v":3}', 3)
    assert (loaded[b].doc, loaded[b].version) == (b'{"p":1}', 1)


async def test_a_stale_commit_changes_nothing(space: Space) -> None:
    ref, other = space.ent(), space.ent(1)
    op = IndexOp(space.index("a"), ref.id, 10.0)
    assert await space.write(ref, 0, b'{"v":1}', st("e1"), [op]) == 1
    stale = Write(ref, 0, b'{"v":"lost"}', st("e2"), [IndexOp(space.index("b"), ref.id, 1.0)])
    ahead = Write(ref, 5, b'{"v":"ahead"}', st("e3"), [])
    fresh = Write(other, 0, b'{"o":1}', st("e2"), [])
    results = await space.store.commit([stale, fresh])
    assert results == {ref: None, other: 1}  # one loser does not fail the others
    assert await space.store.commit([ahead]) == {ref: None}
    loaded = (await space.store.load({ref: set(st("e1", "e2", "e3"))}))[ref]
    assert loaded.doc == b'{"v":1}'
    assert loaded.version == 1
    assert loaded.seen == ids("e1")  # the losers' event ids were not recorded
    assert loaded.pending == [op]  # nor their index ops
    assert await space.store.docs([ref]) == {ref: b'{"v":1}'}
    # a read with no dedup question (judging) answers the same, missing profiles too
    bare = await space.store.load({ref: (), space.ent(2): ()})
    assert (bare[ref].doc, bare[ref].version, bare[ref].pending) == (b'{"v":1}', 1, [op])
    assert (bare[space.ent(2)].doc, bare[space.ent(2)].version) == (None, 0)


async def test_applied_event_ids_are_seen_by_later_loads(space: Space) -> None:
    ref, other = space.ent(), space.ent(1)
    assert await space.write(ref, 0, b"{}", st("e1", "e2")) == 1
    assert await space.write(ref, 1, b"{}", st("e3")) == 2
    assert await space.write(other, 0, b"{}", st("x1")) == 1
    loaded = await space.store.load(
        {ref: set(st("e1", "e3", "e4", "x1")), other: set(st("e1", "x1"))}
    )
    assert loaded[ref].seen == ids("e1", "e3")  # only the asked ones that were applied here
    assert loaded[other].seen == ids("x1")  # dedup is per profile
    assert (await space.store.load({ref: set(st("e2"))}))[ref].seen == ids("e2")
    assert (await space.store.load({ref: set()}))[ref].seen == set()
    assert (await space.store.load({ref: set(st("e5"))}))[ref].seen == set()


async def test_identities_leave_after_the_horizon_into_their_sources_marks(space: Space) -> None:
    ref, early, later = space.ent(), T, T + timedelta(days=2)
    other = st("o1", source="other", at=early)
    assert await space.write(ref, 0, b"{}", st("e1", at=later) + st("e2", at=early)) == 1
    assert await space.write(ref, 1, b"{}", other) == 2
    asked = {ref: {*st("e1", "e2", "e3", "e4"), *other}}
    space.clock.advance(HORIZON.total_seconds())  # exactly the horizon: all still known
    assert await space.write(ref, 2, b"{}", st("e3", at=early)) == 3
    loaded = (await space.store.load(asked))[ref]
    assert loaded.seen == ids("e1", "e2", "e3") | ids("o1", source="other")
    assert loaded.marks == {}
    space.clock.advance(3600)  # an hour more: the first two writes' identities go
    assert await space.write(ref, 3, b"{}", st("e4", at=early)) == 4
    loaded = (await space.store.load(asked))[ref]
    assert loaded.seen == ids("e3", "e4")
    assert loaded.marks == {SOURCE: business_minute(later), "other": business_minute(early)}
    # A mark never moves back: an older identity forgotten later leaves it where it is.
    space.clock.advance((HORIZON + timedelta(hours=1)).total_seconds())
    assert await space.write(ref, 4, b"{}", st("e5", at=early)) == 5
    loaded = (await space.store.load(asked))[ref]
    assert loaded.seen == set()
    assert loaded.marks[SOURCE] == business_minute(later)
    assert (await space.store.load({ref: set()}))[ref].marks == {}  # only asked sources


async def test_pending_index_ops_live_until_their_version_is_finished(space: Space) -> None:
    ref = space.ent()
    add_a = IndexOp(space.index("a"), ref.id, 738_000.0)
    drop_a = IndexOp(space.index("a"), ref.id, None)
    add_b = IndexOp(space.index("b"), ref.id, 0.0)

    assert await space.write(ref, 0, b"{}", st("e1"), [add_a]) == 1
    assert (await space.store.load({ref: set()}))[ref].pending == [add_a]
    # A writer that saw the note carries it over, then adds its own ops, in order.
    assert await space.write(ref, 1, b"{}", st("e2"), [add_a, drop_a, add_b]) == 2
    assert (await space.store.load({ref: set()}))[ref].pending == [add_a, drop_a, add_b]

    # A slow finisher of version 1 must not clear version 2's note, and learns that the
    # profile moved on (its ops may have landed after version 2's: it must repair).
    assert await space.store.finish_indices([(ref, 1, [add_a])]) == {ref}
    loaded = (await space.store.load({ref: set()}))[ref]
    assert loaded.pending == [add_a, drop_a, add_b]
    assert loaded.version == 2

    assert await space.store.finish_indices([(ref, 2, [add_a, drop_a, add_b])]) == set()
    loaded = (await space.store.load({ref: set()}))[ref]
    assert loaded.pending == []
    assert loaded.version == 2  # finishing does not bump the version
    hubs = await space.store.hubs([space.index("a"), space.index("b")])
    assert hubs[space.index("a")].size == 0  # add then remove, applied in order
    assert hubs[space.index("b")].members == [(ref.id, 0.0)]


async def test_finish_indices_answers_only_the_profiles_that_moved_on(space: Space) -> None:
    still, moved = space.ent(1), space.ent(2)
    ix = space.index("a")
    for ref in (still, moved):
        assert await space.write(ref, 0, b"{}", st("e1"), [IndexOp(ix, ref.id, 1.0)]) == 1
    assert await space.write(moved, 1, b"{}", st("e2"), [IndexOp(ix, moved.id, 2.0)]) == 2
    done = [(still, 1, [IndexOp(ix, still.id, 1.0)]), (moved, 1, [IndexOp(ix, moved.id, 1.0)])]
    assert await space.store.finish_indices(done) == {moved}
    assert await space.store.finish_indices([]) == set()
    # Every op was applied, the stale one too (the caller repairs what it touched).
    members = (await space.store.hubs([ix]))[ix].members
    assert members == sorted([(still.id, 1.0), (moved.id, 1.0)], reverse=True)
    loaded = await space.store.load({still: set(), moved: set()})
    assert loaded[still].pending == []
    assert loaded[moved].pending == [IndexOp(ix, moved.id, 2.0)]


async def test_apply_index_ops_touches_only_the_indices(space: Space) -> None:
    ref = space.ent()
    a, b = space.index("a"), space.index("b")
    note = [IndexOp(a, ref.id, 5.0)]
    assert await space.write(ref, 0, b'{"v":1}', st("e1"), note) == 1
    await space.store.apply_index_ops(
        [IndexOp(a, ref.id, 3.0), IndexOp(b, ref.id, 1.0), IndexOp(b, ref.id, None)]
    )
    await space.store.apply_index_ops([])
    hubs = await space.store.hubs([a, b])
    assert hubs[a].members == [(ref.id, 3.0)]
    assert hubs[b].size == 0  # applied in order: added, then removed
    loaded = (await space.store.load({ref: set()}))[ref]
    assert (loaded.doc, loaded.version, loaded.pending) == (b'{"v":1}', 1, note)


async def test_a_commit_without_index_ops_leaves_no_note(space: Space) -> None:
    ref = space.ent()
    assert await space.write(ref, 0, b"{}", st("e1"), [IndexOp(space.index("a"), ref.id, 1.0)]) == 1
    assert await space.write(ref, 1, b"{}", st("e2"), []) == 2
    assert (await space.store.load({ref: set()}))[ref].pending == []


async def test_finish_indices_maintains_the_hubs(space: Space) -> None:
    ix, ties, untouched = space.index("hub"), space.index("ties"), space.index("none")
    refs = [space.ent(n) for n in range(6)]
    for ref in refs:
        assert await space.write(ref, 0, b"{}", st(f"reg-{ref.id}")) == 1
    scores = [5.0, 1.0, 4.0, 2.0, 6.0, 3.0]
    assert not await space.store.finish_indices(
        [
            (ref, 1, [IndexOp(ix, ref.id, score), IndexOp(ties, ref.id, 0.0)])
            for ref, score in zip(refs, scores, strict=True)
        ]
    )
    hubs = await space.store.hubs([ix, ties, untouched], cap=4)
    assert set(hubs) == {ix, ties, untouched}
    hub = hubs[ix]
    assert hub.index == ix
    assert hub.size == 6  # exact, whatever the cap
    by_score = sorted(zip(scores, [r.id for r in refs], strict=True), reverse=True)
    assert hub.members == [(m, s) for s, m in by_score[:4]]  # newest first, capped
    # Equal scores: a stable order (member, descending) on every store.
    assert hubs[ties].size == 6
    assert hubs[ties].members == [(m, 0.0) for m in sorted((r.id for r in refs), reverse=True)[:4]]
    assert hubs[untouched].size == 0
    assert hubs[untouched].members == []

    # Re-scoring moves a member, a None score removes it, removing an absent one is a no-op.
    newest, gone = refs[1], refs[4]
    assert not await space.store.finish_indices(
        [
            (newest, 1, [IndexOp(ix, newest.id, 9.0)]),
            (gone, 1, [IndexOp(ix, gone.id, None), IndexOp(untouched, gone.id, None)]),
        ]
    )
    hub = (await space.store.hubs([ix]))[ix]
    assert hub.size == 5
    assert hub.members == [
        (newest.id, 9.0),
        (refs[0].id, 5.0),
        (refs[2].id, 4.0),
        (refs[5].id, 3.0),
        (refs[3].id, 2.0),
    ]
    assert (await space.store.hubs([ix], cap=1))[ix].members == [(newest.id, 9.0)]
    assert await space.store.hubs([]) == {}


async def test_docs_returns_only_existing_profiles(space: Space) -> None:
    a, b, missing = space.ent(1), space.per(1), space.ent(2)
    assert await space.write(a, 0, b'{"a":1}') == 1
    assert await space.write(b, 0, b'{"b":1}') == 1
    assert await space.write(a, 1, b'{"a":2}') == 2
    assert await space.store.docs([a, b, missing]) == {a: b'{"a":2}', b: b'{"b":1}'}
    assert await space.store.docs([missing]) == {}
    assert await space.store.docs([]) == {}
