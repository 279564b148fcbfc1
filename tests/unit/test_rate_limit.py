"""The rate limiter's failure path (no Redis answering): a StoreError, which the API
answers 503, never an unhandled crash and never a silent pass. Its behaviour against the
real Redis is in tests/integration/test_rate_limit_redis.py."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from api.rate_limit import QueryClass, RateLimiter
from core.clock import FakeClock
from core.errors import StoreError


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_limiter_without_redis_raises_store_error() -> None:
    redis = Redis.from_url(f"redis://127.0.0.1:{_closed_port()}/0", socket_connect_timeout=1)
    limiter = RateLimiter(
        redis, FakeClock(datetime(2026, 12, 1, tzinfo=UTC)), {QueryClass.BATCH: 5}
    )
    try:
        with pytest.raises(StoreError):
            await limiter.take(QueryClass.BATCH, "rwt_any")
    finally:
        await redis.aclose()
