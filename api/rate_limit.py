"""Per-token rate limits on the query routes, shared by every API process through Redis.

Each kind of query (:class:`QueryClass`) has its own budget per token per minute
(``RISKWIRE_RATE_LIMIT_<CLASS>_PER_MIN``). The limiter is GCRA (the generic cell rate
algorithm): one key per token and class holds the theoretical arrival time, a Lua script
reads and moves it in one step, so a token may spend its whole minute's budget at once and
then one request per ``60 / limit`` seconds. One key per call, so it runs unchanged on
Redis Cluster::

    rw:rate:v1:<class>:<sha256(token)>   string  theoretical arrival time (epoch ms), TTL

Past the budget the route answers 429 with ``Retry-After`` (whole seconds).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials
from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.deps import CurrentAccount, bearer
from core.clock import Clock
from core.errors import StoreError
from core.settings import Settings
from core.telemetry import API_REFUSED

RATE_KEY = "rw:rate:v1:{query_class}:{digest}"
WINDOW_MS = 60_000

# KEYS[1] the token's key for one class; ARGV: now (ms), interval (ms), burst (ms).
# Answers 0 when allowed, else the milliseconds until the next request would be.
_GCRA = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - now > burst then
  return new_tat - now - burst
end
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now)
return 0
"""


class QueryClass(StrEnum):
    """The query routes that share one budget each."""

    BATCH = "batch"
    RELATED = "related"
    EXPAND = "expand"
    DRAWS = "draws"


def limits_from_settings(settings: Settings) -> dict[QueryClass, int]:
    """Requests per token per minute, by class."""
    return {
        QueryClass.BATCH: settings.rate_limit_batch_per_min,
        QueryClass.RELATED: settings.rate_limit_related_per_min,
        QueryClass.EXPAND: settings.rate_limit_expand_per_min,
        QueryClass.DRAWS: settings.rate_limit_draws_per_min,
    }


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    retry_after_s: float = 0.0


class RateLimiter:
    def __init__(self, redis: Redis, clock: Clock, limits: Mapping[QueryClass, int]) -> None:
        self._redis = redis
        self._clock = clock
        self._limits = dict(limits)
        self._script = redis.register_script(_GCRA)

    async def take(self, query_class: QueryClass, token: str) -> Verdict:
        """Spend one request of ``token``'s budget for ``query_class``."""
        limit = self._limits[query_class]
        digest = hashlib.sha256(token.encode()).hexdigest()
        key = RATE_KEY.format(query_class=query_class.value, digest=digest)
        now_ms = int(self._clock.now().timestamp() * 1000)
        interval_ms = max(1, WINDOW_MS // limit)
        try:
            wait_ms: Any = await self._script(
                keys=[key], args=[now_ms, interval_ms, interval_ms * limit]
            )
        except RedisError as exc:
            raise StoreError(f"rate limit check failed: {exc}") from exc
        wait = int(wait_ms)
        return Verdict(True) if wait <= 0 else Verdict(False, wait / 1000)


def rate_limited(query_class: QueryClass) -> Any:
    """A route dependency: 429 with ``Retry-After`` once the caller's token has spent its
    budget for ``query_class`` (checked after the token is authenticated)."""

    async def dependency(
        request: Request,
        _: CurrentAccount,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        token = credentials.credentials if credentials else ""  # CurrentAccount checked it
        limiter: RateLimiter = request.app.state.rate_limiter
        verdict = await limiter.take(query_class, token)
        if not verdict.allowed:
            API_REFUSED.labels("rate_limited").inc()
            retry = max(1, math.ceil(verdict.retry_after_s))
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                f"查询过于频繁，请 {retry} 秒后重试",
                headers={"Retry-After": str(retry)},
            )

    return Depends(dependency)
