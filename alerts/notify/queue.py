"""The persisted delivery queue and the delivery log, in Redis.

Pending deliveries survive a restart of every process. Due times are kept per endpoint,
with an index of endpoints by their earliest due time, so that claiming visits every
endpoint with something due and takes from each only what its endpoint's and its
department's concurrency limits allow: ten thousand deliveries waiting for a dead endpoint,
or a department's sixty-four dead endpoints, never hide another's healthy endpoint.
All keys share the hash tag ``{wh}`` (one slot: every script is atomic on a cluster too),
and every script receives each key it touches in ``KEYS`` (:mod:`alerts.notify.queue_scripts`)::

    rw:{wh}:due:v1              zset   endpoint id -> its earliest due time (ms)
    rw:{wh}:due:v1:<endpoint>   zset   delivery id -> next attempt time (ms), or lease end
    rw:{wh}:pending:v1          hash   delivery id -> QueuedDelivery JSON
    rw:{wh}:department:v1       hash   endpoint id -> its department (written on enqueue)
    rw:{wh}:done:v1             zset   delivery id -> finished (ms), kept a day: a feed entry
                                       read twice never enqueues a finished delivery again
    rw:{wh}:log:v1:<endpoint>   list   Attempt JSON, newest first, the last 1,000
    rw:{wh}:dead:v1:<endpoint>  hash   delivery id -> DeadLetter JSON, kept until an admin
                                       replays or purges it (never trimmed)

Another ``namespace`` gives another, independent queue (``rw:{<namespace>}:…``).

A claim moves each claimed delivery's time to the end of its lease, so another scheduler
does not see it as due; the claimer then reschedules it (a retry) or removes it (final).
A claimer that dies leaves it to be claimed again when the lease ends (at least once:
the receiver deduplicates on ``webhook-id``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import RedisError

from alerts.notify import queue_scripts as lua
from alerts.notify.base import DeliveryState, Reason
from core.errors import StoreError

NAMESPACE: Final = "wh"  # the hash tag; tests use their own so a running worker never interferes
LOG_MAX: Final = 1000
DONE_KEEP_MS: Final = 24 * 3600 * 1000


class QueuedDelivery(BaseModel):
    """A delivery waiting in the queue (no secret: the endpoint's is read when sending)."""

    id: str  # the webhook-id: msg_<endpoint id>_<alert id>_<revision>
    endpoint_id: str
    department: str
    alert_id: str
    revision: int
    change: str
    body: str  # exactly the bytes sent on every attempt, as text
    enqueued_ms: int
    attempts: int = 0
    first_attempt_ms: int | None = None


class Attempt(BaseModel):
    """One line of an endpoint's delivery log."""

    delivery_id: str
    alert_id: str
    revision: int
    change: str
    attempt: int
    at: datetime
    state: DeliveryState  # what the delivery became after this attempt
    status_code: int | None = None
    latency_ms: int = 0
    reason: Reason | None = None
    next_attempt_at: datetime | None = None


class DeadLetter(BaseModel):
    """A delivery that will not be tried again by itself (dead-lettered or failed), with
    its last attempt; kept until replayed or purged."""

    delivery: QueuedDelivery
    last: Attempt


def delivery_id(endpoint_id: str, alert_id: str, revision: int) -> str:
    """The stable ``webhook-id`` of one alert revision for one endpoint.

    >>> delivery_id("01EP", "01AL", 3)
    'msg_01EP_01AL_3'
    """
    return f"msg_{endpoint_id}_{alert_id}_{revision}"


def fresh(delivery: QueuedDelivery, now_ms: int) -> QueuedDelivery:
    """A dead letter queued again: a new retry window, the same ``webhook-id``."""
    return delivery.model_copy(
        update={"attempts": 0, "first_attempt_ms": None, "enqueued_ms": now_ms}
    )


FINAL_FAILURES: Final = frozenset({DeliveryState.DEAD_LETTERED, DeliveryState.FAILED})


class RedisDeliveryQueue:
    def __init__(self, redis: Redis, *, namespace: str = NAMESPACE, log_max: int = LOG_MAX) -> None:
        self._redis = redis
        self._log_max = log_max
        base = f"rw:{{{namespace}}}"
        self.index_key = f"{base}:due:v1"
        self.pending_key = f"{base}:pending:v1"
        self._due_prefix = f"{base}:due:v1:"
        self._done_key = f"{base}:done:v1"
        self._dept_key = f"{base}:department:v1"
        self._log_prefix = f"{base}:log:v1:"
        self._dead_prefix = f"{base}:dead:v1:"
        self._enqueue = redis.register_script(lua.ENQUEUE)
        self._claim = redis.register_script(lua.CLAIM)
        self._settle = redis.register_script(lua.SETTLE)
        self._replay = redis.register_script(lua.REPLAY)
        self._waiting = redis.register_script(lua.WAITING)

    async def enqueue(self, deliveries: Sequence[QueuedDelivery], *, now_ms: int) -> int:
        """Add the deliveries not already pending or finished; answers how many were new."""
        if not deliveries:
            return 0
        keys = [self.index_key, self.pending_key, self._done_key, self._dept_key]
        position: dict[str, int] = {}  # endpoint -> its due set's place in KEYS (from 1)
        args: list[Any] = [now_ms]
        for d in deliveries:
            if d.endpoint_id not in position:
                keys.append(self.due_key(d.endpoint_id))
                position[d.endpoint_id] = len(keys)
            args += [d.id, d.endpoint_id, d.department, d.model_dump_json()]
            args.append(position[d.endpoint_id])
        return int(await self._run(self._enqueue, keys, args))

    async def claim(
        self,
        *,
        now_ms: int,
        lease_ms: int,
        limit: int,
        per_endpoint: int,
        in_flight: Mapping[str, int],
        per_department: int,
        department_in_flight: Mapping[str, int],
    ) -> list[QueuedDelivery]:
        """Up to ``limit`` due deliveries, at most ``per_endpoint`` in flight per endpoint
        counting ``in_flight`` and ``per_department`` per department counting
        ``department_in_flight``; each leased until ``now_ms + lease_ms``."""
        if limit <= 0:
            return []
        candidates = await self._due_endpoints(now_ms)
        if not candidates:
            return []
        args: list[Any] = [now_ms, now_ms + lease_ms, limit, per_endpoint, per_department]
        args += [len(in_flight), len(department_in_flight)]
        for key, n in [*in_flight.items(), *department_in_flight.items()]:
            args += [key, n]
        keys = [self.index_key, self.pending_key, self._dept_key]
        keys += [self.due_key(ep) for ep in candidates]
        docs = await self._run(self._claim, keys, args + candidates)
        return [QueuedDelivery.model_validate_json(doc) for doc in docs]

    async def retry(self, delivery: QueuedDelivery, *, at_ms: int, attempt: Attempt) -> None:
        """Store the delivery's new state and make it due again at ``at_ms``."""
        await self._settle_one(delivery, attempt, [delivery.model_dump_json(), at_ms])

    async def finish(
        self, delivery: QueuedDelivery, *, now_ms: int, attempt: Attempt | None
    ) -> None:
        """Remove the delivery from the queue (delivered, failed or dead-lettered); a
        failed or dead-lettered one is kept as a dead letter."""
        await self._settle_one(delivery, attempt, [], now_ms=now_ms)

    async def dead_letters(self, endpoint_id: str) -> list[DeadLetter]:
        """The endpoint's dead letters, newest first."""
        try:
            docs = await self._redis.hvals(self._dead_prefix + endpoint_id)
        except RedisError as exc:
            raise StoreError(f"reading dead letters failed: {exc}") from exc
        letters = [DeadLetter.model_validate_json(doc) for doc in docs]
        return sorted(letters, key=lambda d: (d.last.at, d.delivery.id), reverse=True)

    async def replay(
        self, endpoint_id: str, delivery_ids: Sequence[str] | None, *, now_ms: int
    ) -> int:
        """Queue dead letters again, due now (all of the endpoint's when ``delivery_ids``
        is ``None``); answers how many."""
        letters = [
            d
            for d in await self.dead_letters(endpoint_id)
            if delivery_ids is None or d.delivery.id in delivery_ids
        ]
        if not letters:
            return 0
        args: list[Any] = [endpoint_id, now_ms]
        for d in letters:
            args += [d.delivery.id, fresh(d.delivery, now_ms).model_dump_json()]
        keys = [self.index_key, self.pending_key, self._done_key, self._dead_prefix + endpoint_id]
        keys.append(self.due_key(endpoint_id))
        return int(await self._run(self._replay, keys, args))

    async def purge(self, endpoint_id: str, delivery_ids: Sequence[str] | None) -> int:
        """Drop dead letters for good (all of the endpoint's when ``delivery_ids`` is
        ``None``); answers how many."""
        key = self._dead_prefix + endpoint_id
        try:
            if delivery_ids is None:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.hlen(key)
                    pipe.delete(key)
                    count, _ = await pipe.execute()
                return int(count)
            return int(await self._redis.hdel(key, *delivery_ids)) if delivery_ids else 0
        except RedisError as exc:
            raise StoreError(f"purging dead letters failed: {exc}") from exc

    async def waiting(self) -> dict[str, tuple[int, int]]:
        """Each endpoint with deliveries waiting: how many, and the earliest due time (ms),
        in one round trip (a metric: endpoints are few)."""
        endpoints = await self._due_endpoints(None)
        if not endpoints:
            return {}
        keys = [self.index_key, *(self.due_key(ep) for ep in endpoints)]
        flat = await self._run(self._waiting, keys, endpoints)
        return {
            (flat[i].decode() if isinstance(flat[i], bytes) else flat[i]): (
                int(flat[i + 1]),
                int(float(flat[i + 2])),
            )
            for i in range(0, len(flat), 3)
        }

    async def attempts(self, endpoint_id: str, limit: int = LOG_MAX) -> list[Attempt]:
        """The endpoint's delivery log, newest first."""
        try:
            docs = await self._redis.lrange(self._log_prefix + endpoint_id, 0, limit - 1)
        except RedisError as exc:
            raise StoreError(f"reading a delivery log failed: {exc}") from exc
        return [Attempt.model_validate_json(doc) for doc in docs]

    async def forget(self, endpoint_id: str) -> None:
        """Drop a deleted endpoint's log and dead letters (its waiting deliveries are
        dropped when due)."""
        try:
            await self._redis.delete(
                self._log_prefix + endpoint_id, self._dead_prefix + endpoint_id
            )
        except RedisError as exc:
            raise StoreError(f"deleting a delivery log failed: {exc}") from exc

    async def _settle_one(
        self, d: QueuedDelivery, attempt: Attempt | None, tail: list[Any], *, now_ms: int = 0
    ) -> None:
        ep = d.endpoint_id
        keys = [
            self.index_key,
            self.pending_key,
            self._done_key,
            self._log_prefix + ep,
            self._dead_prefix + ep,
            self.due_key(ep),
        ]
        entry = attempt.model_dump_json() if attempt else ""
        dead = ""
        if attempt is not None and attempt.state in FINAL_FAILURES:
            dead = DeadLetter(delivery=d, last=attempt).model_dump_json()
        args = [d.id, ep, now_ms, DONE_KEEP_MS, self._log_max, entry, dead]
        await self._run(self._settle, keys, args + tail)

    def due_key(self, endpoint_id: str) -> str:
        return self._due_prefix + endpoint_id

    async def _due_endpoints(self, now_ms: int | None) -> list[str]:
        """The endpoints with something due by ``now_ms`` (every waiting one for ``None``),
        earliest first: the candidates whose due sets a step then declares."""
        top = "+inf" if now_ms is None else now_ms
        try:
            found = await self._redis.zrangebyscore(self.index_key, "-inf", top)
        except RedisError as exc:
            raise StoreError(f"the delivery queue failed: {exc}") from exc
        return [ep.decode() if isinstance(ep, bytes) else str(ep) for ep in found]

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await script(keys=keys, args=args)
        except RedisError as exc:
            raise StoreError(f"the delivery queue failed: {exc}") from exc
