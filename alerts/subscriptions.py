"""A department's alert subscriptions: which of the alerts routed to it it wants to receive
(on its ``riskwire.alerts.<department>`` topic, its board and its webhooks).

A subscription's criteria all have to hold (an empty criterion matches anything); a
department receives an alert routed to it when any of its subscriptions matches, or when
it has none at all. Stored per department::

    rw:subs:v1:<department>   hash   subscription id -> Subscription JSON

>>> from streams.alert import Severity
>>> sub = Subscription(id="s1", department="tax", min_severity=Severity.HIGH)
>>> sub.model_dump(include={"rule_ids", "min_severity", "grades", "usccs"})
{'rule_ids': [], 'min_severity': <Severity.HIGH: 'high'>, 'grades': [], 'usccs': []}
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from redis.asyncio import Redis
from redis.exceptions import RedisError
from ulid import ULID

from core.clock import Clock
from core.errors import QuotaExceeded, StoreError
from streams.alert import Alert, Severity

SUBS_KEY = "rw:subs:v1:{department}"
MAX_USCCS = 10_000
DEFAULT_MAX_PER_DEPARTMENT = 100
_CREATE_LUA = """
-- KEYS: the department's hash. ARGV: most allowed, id, doc. 1 if added.
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1
"""
RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Uscc = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{18}$")]
Grade = Literal["A", "B", "C", "D"]


class SubscriptionCriteria(BaseModel):
    """What a subscription asks for; each empty criterion matches everything."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule_ids: list[RuleId] = Field(default_factory=list, max_length=64)
    min_severity: Severity | None = None
    grades: list[Grade] = Field(default_factory=list, max_length=4)
    usccs: list[Uscc] = Field(default_factory=list, max_length=MAX_USCCS)


class Subscription(SubscriptionCriteria):
    id: str
    department: str
    created_at: datetime | None = None
    created_by: str | None = None  # account id


def matches(alert: Alert, subscription: SubscriptionCriteria) -> bool:
    """Whether ``alert`` meets every criterion of ``subscription``.

    An alert without a grade (a person or address alert) never meets a grade criterion;
    the uscc criterion is met by any of the alert's enterprises or its subject.
    """
    s = subscription
    if s.rule_ids and alert.rule_id not in s.rule_ids:
        return False
    if s.min_severity is not None and alert.severity.rank < s.min_severity.rank:
        return False
    if s.grades and alert.grade not in s.grades:
        return False
    if s.usccs:
        wanted = set(s.usccs)
        if alert.subject.id not in wanted and wanted.isdisjoint(alert.enterprises):
            return False
    return True


def wants(alert: Alert, subscriptions: Sequence[SubscriptionCriteria]) -> bool:
    """A department with no subscription wants everything routed to it."""
    return not subscriptions or any(matches(alert, s) for s in subscriptions)


class SubscriptionStore:
    def __init__(
        self, redis: Redis, clock: Clock, *, max_per_department: int = DEFAULT_MAX_PER_DEPARTMENT
    ) -> None:
        self._redis = redis
        self._clock = clock
        self.max_per_department = max_per_department
        self._create = redis.register_script(_CREATE_LUA)

    async def create(
        self, department: str, criteria: SubscriptionCriteria, *, created_by: str | None = None
    ) -> Subscription:
        """A new subscription; ``QuotaExceeded`` when the department has its most already."""
        sub = Subscription(
            id=str(ULID.from_datetime(self._clock.now())),
            department=department,
            created_at=self._clock.now(),
            created_by=created_by,
            **criteria.model_dump(),
        )
        key = SUBS_KEY.format(department=department)
        try:
            added = await self._create(
                keys=[key], args=[self.max_per_department, sub.id, sub.model_dump_json()]
            )
        except RedisError as exc:
            raise StoreError(f"writing a subscription failed: {exc}") from exc
        if not added:
            raise QuotaExceeded(
                f"the department has {self.max_per_department} subscriptions, the most "
                "allowed (RISKWIRE_WEBHOOK_MAX_SUBSCRIPTIONS); delete one first"
            )
        return sub

    async def delete(self, department: str, subscription_id: str) -> bool:
        try:
            removed = await self._redis.hdel(
                SUBS_KEY.format(department=department), subscription_id
            )
        except RedisError as exc:
            raise StoreError(f"deleting a subscription failed: {exc}") from exc
        return bool(removed)

    async def of_department(self, department: str) -> list[Subscription]:
        return (await self.by_departments([department]))[department]

    async def by_departments(self, departments: Iterable[str]) -> dict[str, list[Subscription]]:
        """Each department's subscriptions (oldest first), in one round trip."""
        depts = list(dict.fromkeys(departments))
        if not depts:
            return {}
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for d in depts:
                    pipe.hvals(SUBS_KEY.format(department=d))
                replies = await pipe.execute()
        except RedisError as exc:
            raise StoreError(f"reading subscriptions failed: {exc}") from exc
        out: dict[str, list[Subscription]] = {}
        for d, docs in zip(depts, replies, strict=True):
            subs = [Subscription.model_validate_json(doc) for doc in docs]
            out[d] = sorted(subs, key=lambda s: s.id)
        return out


class SubscriptionCache:
    """Every department's subscriptions, read again at most every ``ttl_s`` seconds: for
    the relay and the live board, which ask on every batch of the feed."""

    def __init__(
        self, store: SubscriptionStore, clock: Clock, departments: Iterable[str], ttl_s: float = 5.0
    ) -> None:
        self._store = store
        self._clock = clock
        self._departments = list(departments)
        self._ttl_s = ttl_s
        self._read_at: float | None = None
        self.snapshot: dict[str, list[Subscription]] = {}

    async def current(self) -> dict[str, list[Subscription]]:
        """The snapshot, refreshed when stale. When Redis fails the last snapshot stays (at
        first: none, so every owner receives everything; an alert is never lost to it)."""
        now = self._clock.monotonic()
        if self._read_at is None or now - self._read_at >= self._ttl_s:
            self._read_at = now
            with contextlib.suppress(StoreError):
                self.snapshot = await self._store.by_departments(self._departments)
        return self.snapshot


SubscriptionsByDepartment = Mapping[str, Sequence[SubscriptionCriteria]]
