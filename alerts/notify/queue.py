"""The persisted delivery queue and the delivery log, in Redis.

Pending deliveries survive a restart of every process. Due times are kept per endpoint,
with an index of endpoints by their earliest due time, so that claiming visits every
endpoint with something due and takes from each only what its concurrency limit allows:
ten thousand deliveries waiting for a dead endpoint never hide a healthy endpoint's one.
All keys share the hash tag ``{wh}`` (one slot: every script is atomic on a cluster too)::

    rw:{wh}:due:v1              zset   endpoint id -> its earliest due time (ms)
    rw:{wh}:due:v1:<endpoint>   zset   delivery id -> next attempt time (ms), or lease end
    rw:{wh}:pending:v1          hash   delivery id -> QueuedDelivery JSON
    rw:{wh}:done:v1             zset   delivery id -> finished (ms), kept a day: a feed entry
                                       read twice never enqueues a finished delivery again
    rw:{wh}:log:v1:<endpoint>   list   Attempt JSON, newest first, the last 1,000

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
-- KEYS: index, pending, done. ARGV: due prefix, now, then (id, endpoint, doc) triples.
local added = 0
for i = 3, #ARGV, 3 do
  local id, ep = ARGV[i], ARGV[i + 1]
  if redis.call('HEXISTS', KEYS[2], id) == 0 and not redis.call('ZSCORE', KEYS[3], id) then
    redis.call('HSET', KEYS[2], id, ARGV[i + 2])
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
-- KEYS: index, pending. ARGV: due prefix, now, lease end, limit, per endpoint,
-- then (endpoint, in flight) pairs. Returns the claimed deliveries' docs.
local now, lease, limit, per = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local busy = {}
for i = 6, #ARGV, 2 do busy[ARGV[i]] = tonumber(ARGV[i + 1]) end
local out = {}
for _, ep in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  local free = math.min(per - (busy[ep] or 0), limit - #out)
  if free > 0 then
    local ids = redis.call('ZRANGEBYSCORE', ARGV[1] .. ep, '-inf', now, 'LIMIT', 0, free)
    for _, id in ipairs(ids) do
      local doc = redis.call('HGET', KEYS[2], id)
      if doc then
        redis.call('ZADD', ARGV[1] .. ep, lease, id)
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
-- KEYS: index, pending, done, log. ARGV: due prefix, id, endpoint, now, done keep (ms),
-- log max, attempt JSON or '', then for a retry: doc, next attempt time.
local id, ep, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
if ARGV[8] then
  if redis.call('HEXISTS', KEYS[2], id) == 1 then
    redis.call('HSET', KEYS[2], id, ARGV[8])
    redis.call('ZADD', ARGV[1] .. ep, ARGV[9], id)
  end
else
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', ARGV[1] .. ep, id)
  redis.call('ZADD', KEYS[3], now, id)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[5]))
end
refresh(ep)
if ARGV[7] ~= '' then
  redis.call('LPUSH', KEYS[4], ARGV[7])
  redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[6]) - 1)
end
return 1
"""
)


class RedisDeliveryQueue:
    def __init__(self, redis: Redis, *, namespace: str = NAMESPACE, log_max: int = LOG_MAX) -> None:
        self._redis = redis
        self._log_max = log_max
        base = f"rw:{{{namespace}}}"
        self.index_key = f"{base}:due:v1"
        self.pending_key = f"{base}:pending:v1"
        self._due_prefix = f"{base}:due:v1:"
        self._done_key = f"{base}:done:v1"
        self._log_prefix = f"{base}:log:v1:"
        self._enqueue = redis.register_script(_ENQUEUE_LUA)
        self._claim = redis.register_script(_CLAIM_LUA)
        self._settle = redis.register_script(_SETTLE_LUA)

    async def enqueue(self, deliveries: Sequence[QueuedDelivery], *, now_ms: int) -> int:
        """Add the deliveries not already pending or finished; answers how many were new."""
        if not deliveries:
            return 0
        args: list[Any] = [self._due_prefix, now_ms]
        for d in deliveries:
            args += [d.id, d.endpoint_id, d.model_dump_json()]
        return int(
            await self._run(self._enqueue, [self.index_key, self.pending_key, self._done_key], args)
        )

    async def claim(
        self,
        *,
        now_ms: int,
        lease_ms: int,
        limit: int,
        per_endpoint: int,
        in_flight: Mapping[str, int],
    ) -> list[QueuedDelivery]:
        """Up to ``limit`` due deliveries, at most ``per_endpoint`` in flight per endpoint
        counting ``in_flight``; each leased until ``now_ms + lease_ms``."""
        if limit <= 0:
            return []
        args: list[Any] = [self._due_prefix, now_ms, now_ms + lease_ms, limit, per_endpoint]
        for ep, n in in_flight.items():
            args += [ep, n]
        docs = await self._run(self._claim, [self.index_key, self.pending_key], args)
        return [QueuedDelivery.model_validate_json(doc) for doc in docs]

    async def retry(self, delivery: QueuedDelivery, *, at_ms: int, attempt: Attempt) -> None:
        """Store the delivery's new state and make it due again at ``at_ms``."""
        await self._settle_one(delivery, attempt, [delivery.model_dump_json(), at_ms])

    async def finish(
        self, delivery: QueuedDelivery, *, now_ms: int, attempt: Attempt | None
    ) -> None:
        """Remove the delivery for good (delivered, failed or dead-lettered)."""
        await self._settle_one(delivery, attempt, [], now_ms=now_ms)

    async def attempts(self, endpoint_id: str, limit: int = LOG_MAX) -> list[Attempt]:
        """The endpoint's delivery log, newest first."""
        try:
            docs = await self._redis.lrange(self._log_prefix + endpoint_id, 0, limit - 1)
        except RedisError as exc:
            raise StoreError(f"reading a delivery log failed: {exc}") from exc
        return [Attempt.model_validate_json(doc) for doc in docs]

    async def forget(self, endpoint_id: str) -> None:
        """Drop a deleted endpoint's log (its waiting deliveries are dropped when due)."""
        try:
            await self._redis.delete(self._log_prefix + endpoint_id)
        except RedisError as exc:
            raise StoreError(f"deleting a delivery log failed: {exc}") from exc

    async def _settle_one(
        self, d: QueuedDelivery, attempt: Attempt | None, tail: list[Any], *, now_ms: int = 0
    ) -> None:
        keys = [self.index_key, self.pending_key, self._done_key, self._log_prefix + d.endpoint_id]
        entry = attempt.model_dump_json() if attempt else ""
        args = [self._due_prefix, d.id, d.endpoint_id, now_ms, DONE_KEEP_MS, self._log_max, entry]
        await self._run(self._settle, keys, args + tail)

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await script(keys=keys, args=args)
        except RedisError as exc:
            raise StoreError(f"the delivery queue failed: {exc}") from exc
