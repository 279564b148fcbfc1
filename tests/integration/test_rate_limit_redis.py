"""The query rate limiter on the real Redis (its Lua script), on a fake clock: a token
spends its minute's budget, is told when to come back, and gets one request back per
``60 / limit`` seconds; tokens and kinds of query have budgets of their own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from api.rate_limit import RATE_KEY, QueryClass, RateLimiter
from core.clock import FakeClock

pytestmark = [pytest.mark.redis]

LIMITS = {QueryClass.BATCH: 3, QueryClass.RELATED: 60, QueryClass.EXPAND: 1, QueryClass.DRAWS: 1}


async def test_a_token_past_its_budget_is_told_when_to_retry(redis: Redis) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    limiter = RateLimiter(redis, clock, LIMITS)
    token = "rwt_rate_test_" + clock.now().isoformat()
    assert [(await limiter.take(QueryClass.BATCH, token)).allowed for _ in range(3)] == [True] * 3
    refused = await limiter.take(QueryClass.BATCH, token)
    assert not refused.allowed
    assert refused.retry_after_s == pytest.approx(20.0)  # one request per 60 / 3 s
    clock.advance(19.9)
    assert not (await limiter.take(QueryClass.BATCH, token)).allowed
    clock.advance(0.1)
    assert (await limiter.take(QueryClass.BATCH, token)).allowed
    assert not (await limiter.take(QueryClass.BATCH, token)).allowed


async def test_tokens_and_kinds_of_query_have_budgets_of_their_own(redis: Redis) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    limiter = RateLimiter(redis, clock, LIMITS)
    one, other = "rwt_rate_one_" + clock.now().isoformat(), "rwt_rate_other"
    assert (await limiter.take(QueryClass.EXPAND, one)).allowed
    assert not (await limiter.take(QueryClass.EXPAND, one)).allowed
    assert (await limiter.take(QueryClass.DRAWS, one)).allowed  # another kind
    assert (await limiter.take(QueryClass.EXPAND, other + clock.now().isoformat())).allowed


async def test_the_state_is_one_expiring_key_per_token_and_kind(redis: Redis) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 11, 0, tzinfo=UTC))
    limiter = RateLimiter(redis, clock, LIMITS)
    before = set(await redis.keys("rw:rate:v1:*"))
    await limiter.take(QueryClass.RELATED, "rwt_rate_keys")
    await limiter.take(QueryClass.RELATED, "rwt_rate_keys")
    [key] = set(await redis.keys("rw:rate:v1:*")) - before
    assert key.decode().startswith(RATE_KEY.format(query_class="related", digest=""))
    assert "rwt_rate_keys" not in key.decode()  # the token is never stored in clear
    assert 0 < await redis.pttl(key) <= 2_000
