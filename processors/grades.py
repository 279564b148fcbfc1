"""Grades over time: each enterprise's current grade, its history, and the feed of grade
changes that :class:`GradeRelay` publishes to ``riskwire.grades``.

Keys (versioned; an enterprise's keys share its profile's hash tag, so one Lua step sees
them together on a cluster)::

    rw:{ent:<uscc>}:grade:v1          hash    doc (stored grade), at (epoch ms), sig, grade
    rw:{ent:<uscc>}:grades:v1         zset    stored grade -> epoch ms of its ``at``: the
                                              first grade and every change of letter
    rw:{ent:<uscc>}:grades:rev:v1     zset    the same for revisions (new score or factors
                                              under the same letter), the newest N kept
    rw:{ent:<uscc>}:grades:outbox:v1  list    "<previous letter>|<stored grade>" not yet fed
    rw:{grades}:feed:v1               stream  grade -> the riskwire.grades message

A stored grade is its JSON compressed with a trained dictionary (:mod:`processors.grade_codec`;
JSON written by an earlier release is read as it is).

A record is a compare-and-set on the current grade's basis, the version of the enterprise
profile it was computed from (versions only grow): a grade from an older basis is stale and
writes nothing; one with the same content (score, letter, factors) only moves the current
grade's time; any other enters the history, and a new letter also enters the enterprise's
outbox. A grade's time is its facts' time, so it may move back (an enterprise's later
history showed a person's late facts no longer concern it): grades kept for times after it
were computed from facts since superseded, and leave the history.

History is bounded: every change of letter is kept (up to ``history_max``), and of the
revisions only the newest ``revisions_max`` (``RISKWIRE_GRADE_REVISIONS_MAX``), so an
enterprise whose score moves with every event holds a few dozen grades, not one per event.
The outbox is moved to the feed in a second call and emptied only after that, so a crash in
between loses no change: the next record of that enterprise (a replay of the same event,
say) feeds it again (:mod:`processors.grade_feed`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from core.errors import StoreError
from core.redis_lua import LuaScript, run_pipeline
from core.redis_reply import text_of
from core.telemetry import get_logger
from processors import grade_codec
from processors.grade_feed import FEED_KEY as FEED_KEY
from processors.grade_feed import GradeFeed
from processors.grade_feed import grade_message as grade_message
from rules.grading import DEFAULT_WEIGHTS, Grade, GradeWeights, grade
from streams.profile import EnterpriseProfile, PersonProfile

OUTBOX_MAX = 100
REVISIONS_MAX = 5  # the default of RISKWIRE_GRADE_REVISIONS_MAX
log = get_logger(__name__)

_RECORD_LUA = resources.files("processors").joinpath("grade_record.lua").read_text()


def current_key(uscc: str) -> str:
    return f"rw:{{ent:{uscc}}}:grade:v1"


def history_key(uscc: str) -> str:
    return f"rw:{{ent:{uscc}}}:grades:v1"


def revisions_key(uscc: str) -> str:
    return f"rw:{{ent:{uscc}}}:grades:rev:v1"


def outbox_key(uscc: str) -> str:
    return f"rw:{{ent:{uscc}}}:grades:outbox:v1"


def changed(previous: Grade | None, current: Grade) -> bool:
    """Whether the letter changed (a first grade is a change); score jitter is not."""
    return previous is None or previous.grade != current.grade


@dataclass(frozen=True, slots=True)
class GradeChange:
    """One regrading of one enterprise: the grade it had (as read) and the new one."""

    uscc: str
    previous: Grade | None
    current: Grade
    basis: int = 0  # the version of the enterprise profile it was computed from

    @property
    def changed(self) -> bool:
        return changed(self.previous, self.current)


def regrade(
    enterprise: EnterpriseProfile,
    people: Mapping[str, PersonProfile],
    *,
    event_time: datetime,
    previous: Grade | None,
    weights: GradeWeights = DEFAULT_WEIGHTS,
    rules_version: str | None = None,
    basis: int = 0,
) -> GradeChange:
    """Grade ``enterprise`` at ``event_time``, the time its facts give (see
    :func:`regrade_in_time`), whatever the time of the grade before: a grade is a function
    of the facts, not of the order they arrived in."""
    current = grade(enterprise, people, event_time, weights, rules_version)
    return GradeChange(enterprise.uscc, previous, current, basis)


@dataclass(slots=True)
class Regrader:
    """Regrades the enterprises of one batch in order, each from its grade before, and
    collects the changes for :meth:`GradeStore.record`."""

    latest: dict[str, Grade]
    weights: GradeWeights = DEFAULT_WEIGHTS
    rules_version: str | None = None
    changes: list[GradeChange] = field(default_factory=list)

    def regrade(
        self,
        enterprise: EnterpriseProfile,
        people: Mapping[str, PersonProfile],
        event_time: datetime,
        *,
        basis: int = 0,
    ) -> GradeChange:
        previous = self.latest.get(enterprise.uscc)
        change = regrade(
            enterprise,
            people,
            event_time=event_time,
            previous=previous,
            weights=self.weights,
            rules_version=self.rules_version,
            basis=basis,
        )
        self.latest[enterprise.uscc] = change.current
        if previous is None or previous.signature() != change.current.signature():
            # An unchanged grade (same letter, score and factors) is not written again:
            # the stored one still answers for any date since it was computed.
            self.changes.append(change)
        return change


def regrade_in_time(
    regrader: Regrader,
    enterprise: EnterpriseProfile,
    people: Mapping[str, PersonProfile],
    event_time: datetime,
    basis: int = 0,
) -> GradeChange:
    """Regrade ``enterprise`` at the time its facts give: its latest own fact, or a later
    fact of one of its current people (never after its deregistration). That time depends
    on the facts alone, not on the event that asked (``event_time`` only stands in for a
    profile that holds no time) nor on the order the facts arrived in."""
    at = enterprise.last_event_time or event_time
    people_at = max((p.last_event_time for p in people.values() if p.last_event_time), default=at)
    if enterprise.deregistered_at is not None:
        people_at = min(people_at, max(at, enterprise.deregistered_at))
    return regrader.regrade(enterprise, people, max(at, people_at), basis=basis)


class Recorded(enum.StrEnum):
    STALE = "stale"  # computed from an older profile than the current grade: nothing written
    UNCHANGED = "unchanged"  # same score, letter and factors: only the time moved
    REVISED = "revised"  # new score or factors, same letter: current and history
    CHANGED = "changed"  # new letter: current, history and feed


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ms(when: datetime) -> int:
    return (when - _EPOCH) // timedelta(milliseconds=1)


class GradeStore:
    def __init__(
        self,
        redis: Redis,
        *,
        feed_maxlen: int = 100_000,
        history_max: int = 1_000,
        revisions_max: int = REVISIONS_MAX,
    ) -> None:
        self._redis = redis
        self._history_max = history_max
        self._revisions_max = revisions_max
        self._record = LuaScript(redis, _RECORD_LUA)
        self._feeder = GradeFeed(redis, feed_maxlen)

    async def current(self, usccs: Collection[str]) -> dict[str, Grade]:
        wanted = list(usccs)
        if not wanted:
            return {}
        docs = await self._read(
            f"reading {len(wanted)} grades",
            lambda pipe: [pipe.hget(current_key(u), "doc") for u in wanted],
        )
        return {u: grade_codec.decode(d) for u, d in zip(wanted, docs, strict=True) if d}

    async def letters(self) -> dict[str, str]:
        """Every enterprise with a current grade: uscc -> its letter (one ``SCAN`` of the
        current grades' keys, their letters read in pipelines of a thousand)."""
        pattern = current_key("*")
        head, _, tail = pattern.partition("*")
        out: dict[str, str] = {}
        batch: list[str] = []

        async def flush() -> None:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in batch:
                    pipe.hget(key, "grade")
                letters: list[Any] = await pipe.execute()
            for key, letter in zip(batch, letters, strict=True):
                if letter:
                    out[key[len(head) : -len(tail)]] = text_of(letter)
            batch.clear()

        async for key in self._redis.scan_iter(match=pattern, count=1000):
            batch.append(text_of(key))
            if len(batch) >= 1000:
                await flush()
        if batch:
            await flush()
        return out

    async def record(self, changes: Sequence[GradeChange]) -> list[Recorded]:
        """Store each new grade, in order, and feed every change of letter: one round trip,
        and two more when there are changes to feed."""
        if not changes:
            return []

        def fill(pipe: Pipeline) -> None:
            for c in changes:
                self._record.queue(
                    pipe,
                    [
                        current_key(c.uscc),
                        history_key(c.uscc),
                        outbox_key(c.uscc),
                        revisions_key(c.uscc),
                    ],
                    [
                        grade_codec.encode(c.current),
                        _ms(c.current.at),
                        c.current.grade,
                        c.current.signature(),
                        self._history_max,
                        OUTBOX_MAX,
                        self._revisions_max,
                        c.basis,
                    ],
                )

        try:
            replies = await run_pipeline(self._redis, fill, self._record)
        except RedisError as exc:
            raise StoreError(f"recording {len(changes)} grades failed: {exc}") from exc
        outbox: dict[str, list[bytes]] = {}
        for c, (_, items) in zip(changes, replies, strict=True):
            outbox[c.uscc] = [grade_codec.raw(i) for i in items]  # the last reply holds all
        await self._feed(outbox)
        return [Recorded(text_of(outcome)) for outcome, _ in replies]

    async def as_of(self, uscc: str, when: datetime) -> Grade | None:
        """The grade ``uscc`` had at ``when``: the latest one kept at or before it."""
        replies = await self._read(
            f"reading the grade of {uscc} as of {when.isoformat()}",
            lambda pipe: [
                pipe.zrevrangebyscore(key(uscc), _ms(when), "-inf", 0, 1, withscores=True)
                for key in (history_key, revisions_key)
            ],
        )
        found = _newest_first(replies)
        return found[0] if found else None

    async def history(self, uscc: str, limit: int = 100) -> list[Grade]:
        """The kept grades of ``uscc`` (every change of letter, the newest revisions),
        newest first."""
        replies = await self._read(
            f"reading the grades of {uscc}",
            lambda pipe: [
                pipe.zrevrange(key(uscc), 0, limit - 1, withscores=True)
                for key in (history_key, revisions_key)
            ],
        )
        return _newest_first(replies)[:limit]

    async def _read(self, what: str, fill: Callable[[Pipeline], object]) -> list[Any]:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                fill(pipe)
                return list(await pipe.execute())
        except RedisError as exc:
            raise StoreError(f"{what} failed: {exc}") from exc

    async def _feed(self, outbox: Mapping[str, Sequence[bytes]]) -> None:
        items = [
            (uscc, outbox_key(uscc), item) for uscc, pending in outbox.items() for item in pending
        ]
        if not items:
            return
        try:
            await self._feeder.move(items)
        except RedisError as exc:
            raise StoreError(f"feeding {len(items)} grade changes failed: {exc}") from exc


def _newest_first(replies: Sequence[Sequence[tuple[bytes, float]]]) -> list[Grade]:
    """Merge (doc, epoch ms) replies of the history and revision sets, newest first."""
    pairs = sorted((pair for reply in replies for pair in reply), key=lambda p: -p[1])
    return [grade_codec.decode(doc) for doc, _ in pairs]


class MemoryGradeStore:
    """:class:`GradeStore`'s semantics in process, for the pipeline's unit tests."""

    def __init__(self, *, revisions_max: int = REVISIONS_MAX) -> None:
        self.grades: dict[str, list[Grade]] = {}  # first grade and letter changes, oldest first
        self.revisions: dict[str, list[Grade]] = {}  # the newest revisions, oldest first
        self.now: dict[str, Grade] = {}
        self.basis: dict[str, int] = {}
        self.feed: list[bytes] = []
        self._revisions_max = revisions_max

    async def current(self, usccs: Collection[str]) -> dict[str, Grade]:
        return {u: self.now[u] for u in usccs if u in self.now}

    async def record(self, changes: Sequence[GradeChange]) -> list[Recorded]:
        return [self._record(c.uscc, c.current, c.basis) for c in changes]

    def _record(self, uscc: str, new: Grade, basis: int) -> Recorded:
        old = self.now.get(uscc)
        if self.basis.get(uscc, -1) > basis:
            return Recorded.STALE
        self.basis[uscc] = basis
        for kept in (self.grades, self.revisions):  # superseded by a grade for an earlier time
            kept[uscc] = [g for g in kept.get(uscc, []) if g.at <= new.at]
        self.now[uscc] = new
        if old is not None and old.signature() == new.signature():
            return Recorded.UNCHANGED
        if old is not None and old.grade == new.grade:
            revisions = self.revisions.setdefault(uscc, [])
            revisions.append(new)
            revisions.sort(key=lambda g: g.at)
            del revisions[: -self._revisions_max]
            return Recorded.REVISED
        history = self.grades.setdefault(uscc, [])
        history.append(new)
        history.sort(key=lambda g: g.at)
        self.feed.append(grade_message(uscc, new, old.grade if old else None))
        return Recorded.CHANGED

    def _kept(self, uscc: str) -> list[Grade]:
        kept = [*self.grades.get(uscc, []), *self.revisions.get(uscc, [])]
        return sorted(kept, key=lambda g: g.at, reverse=True)

    async def as_of(self, uscc: str, when: datetime) -> Grade | None:
        return next((g for g in self._kept(uscc) if g.at <= when), None)

    async def history(self, uscc: str, limit: int = 100) -> list[Grade]:
        return self._kept(uscc)[:limit]
