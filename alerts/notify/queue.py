"""The persisted delivery queue and the delivery log, in Redis.

Pending deliveries survive a restart of every process. Due times are kept per endpoint,
with an index of endpoints by their earliest due time, so that claiming visits every
endpoint with something due and takes from each only what its endpoint's and its
department's concurrency limits allow: ten thousand deliveries waiting for a dead endpoint,
or a department's sixty-four dead endpoints, never hide another's healthy endpoint.
All keys share the hash tag ``{wh}`` (one slot: every script is atomic on a cluster too)::

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


_REFRESH = """
local function refresh(ep)
  local first = redis.call('ZRANGE', ARGV[1] .. ep, 0, 0, 'WITHSCORES')
  if first[2] then
    redis.call('ZADD', KEYS[1], first[2], ep)
  else
    redis.call('ZREM', KEYS[1], ep)
  end
end
"""
_ENQUEUE_LUA = (
    _REFRESH
    + """
-- KEYS: index, pending, done, departments. ARGV: due prefix, now, then
-- (id, endpoint, department, doc) quadruples.
local added = 0
for i = 3, #ARGV, 4 do
  local id, ep = ARGV[i], ARGV[i + 1]
  if redis.call('HEXISTS', KEYS[2], id) == 0 and not redis.call('ZSCORE', KEYS[3], id) then
    redis.call('HSET', KEYS[2], id, ARGV[i + 3])
    redis.call('HSET', KEYS[4], ep, ARGV[i + 2])
    redis.call('ZADD', ARGV[1] .. ep, ARGV[2], id)
    refresh(ep)
    added = added + 1
  end
end
return added
"""
)
_CLAIM_LUA = (
    _REFRESH
    + """
-- KEYS: index, pending, departments. ARGV: due prefix, now, lease end, limit, per
-- endpoint, per department, number of endpoint pairs, then (endpoint, in flight) pairs,
-- then (department, in flight) pairs. Returns the claimed deliveries' docs.
local now, lease, limit, per = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local per_dept, pairs_end = tonumber(ARGV[6]), 7 + 2 * tonumber(ARGV[7])
local busy, dept_busy = {}, {}
for i = 8, pairs_end, 2 do busy[ARGV[i]] = tonumber(ARGV[i + 1]) end
for i = pairs_end + 1, #ARGV, 2 do dept_busy[ARGV[i]] = tonumber(ARGV[i + 1]) end
local out = {}
for _, ep in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  local dept = redis.call('HGET', KEYS[3], ep) or ''
  local free = math.min(per - (busy[ep] or 0), per_dept - (dept_busy[dept] or 0), limit - #out)
  if free > 0 then
    local ids = redis.call('ZRANGEBYSCORE', ARGV[1] .. ep, '-inf', now, 'LIMIT', 0, free)
    for _, id in ipairs(ids) do
      local doc = redis.call('HGET', KEYS[2], id)
      if doc then
        redis.call('ZADD', ARGV[1] .. ep, lease, id)
        dept_busy[dept] = (dept_busy[dept] or 0) + 1
        out[#out + 1] = doc
      else
        redis.call('ZREM', ARGV[1] .. ep, id)
      end
    end
    refresh(ep)
  end
  if #out >= limit then break end
end
return out
"""
)
_SETTLE_LUA = (
    _REFRESH
    + """
-- KEYS: index, pending, done, log, dead letters. ARGV: due prefix, id, endpoint, now,
-- done keep (ms), log max, attempt JSON or '', dead letter JSON or '', then for a retry:
-- doc, next attempt time.
local id, ep, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
if ARGV[9] then
  if redis.call('HEXISTS', KEYS[2], id) == 1 then
    redis.call('HSET', KEYS[2], id, ARGV[9])
    redis.call('ZADD', ARGV[1] .. ep, ARGV[10], id)
  end
else
  local was_pending = redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', ARGV[1] .. ep, id)
  redis.call('ZADD', KEYS[3], now, id)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[5]))
  if ARGV[8] ~= '' and was_pending == 1 then
    redis.call('HSET', KEYS[5], id, ARGV[8])
  end
end
refresh(ep)
if ARGV[7] ~= '' then
  redis.call('LPUSH', KEYS[4], ARGV[7])
  redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[6]) - 1)
end
return 1
"""
)
_WAITING_LUA = """
-- KEYS: index. ARGV: due prefix. Each endpoint with deliveries waiting: id, how many,
-- the earliest time one of them is due (ms).
local out = {}
for _, ep in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local first = redis.call('ZRANGE', ARGV[1] .. ep, 0, 0, 'WITHSCORES')
  out[#out + 1] = ep
  out[#out + 1] = redis.call('ZCARD', ARGV[1] .. ep)
  out[#out + 1] = first[2] or '0'
end
return out
"""


_REPLAY_LUA = (
    _REFRESH
    + """
-- KEYS: index, pending, done, dead letters. ARGV: due prefix, endpoint, now, then
-- (id, fresh doc) pairs. Each dead letter taken back is due now; answers how many.
local ep, n = ARGV[2], 0
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HDEL', KEYS[4], id) == 1 and redis.call('HEXISTS', KEYS[2], id) == 0 then
    redis.call('ZREM', KEYS[3], id)
    redis.call('HSET', KEYS[2], id, ARGV[i + 1])
    redis.call('ZADD', ARGV[1] .. ep, ARGV[3], id)
    n = n + 1
  end
end
refresh(ep)
return n
"""
)


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
        self._enqueue = redis.register_script(_ENQUEUE_LUA)
        self._claim = redis.register_script(_CLAIM_LUA)
        self._settle = redis.register_script(_SETTLE_LUA)
        self._replay = redis.register_script(_REPLAY_LUA)
        self._waiting = redis.register_script(_WAITING_LUA)

    async def enqueue(self, deliveries: Sequence[QueuedDelivery], *, now_ms: int) -> int:
        """Add the deliveries not already pending or finished; answers how many were new."""
        if not deliveries:
            return 0
        args: list[Any] = [self._due_prefix, now_ms]
        for d in deliveries:
            args += [d.id, d.endpoint_id, d.department, d.model_dump_json()]
        keys = [self.index_key, self.pending_key, self._done_key, self._dept_key]
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
        args: list[Any] = [self._due_prefix, now_ms, now_ms + lease_ms, limit, per_endpoint]
        args += [per_department, len(in_flight)]
        for key, n in [*in_flight.items(), *department_in_flight.items()]:
            args += [key, n]
        keys = [self.index_key, self.pending_key, self._dept_key]
        docs = await self._run(self._claim, keys, args)
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
        args: list[Any] = [self._due_prefix, endpoint_id, now_ms]
        for d in letters:
            args += [d.delivery.id, fresh(d.delivery, now_ms).model_dump_json()]
        keys = [self.index_key, self.pending_key, self._done_key, self._dead_prefix + endpoint_id]
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
        flat = await self._run(self._waiting, [self.index_key], [self._due_prefix])
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
        ]
        entry = attempt.model_dump_json() if attempt else ""
        dead = ""
        if attempt is not None and attempt.state in FINAL_FAILURES:
            dead = DeadLetter(delivery=d, last=attempt).model_dump_json()
        args = [self._due_prefix, d.id, ep, now_ms, DONE_KEEP_MS, self._log_max, entry, dead]
        await self._run(self._settle, keys, args + tail)

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await script(keys=keys, args=args)
        except RedisError as exc:
            raise StoreError(f"the delivery queue failed: {exc}") from exc
