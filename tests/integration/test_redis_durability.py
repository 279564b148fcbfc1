"""The worker's WAIT after a batch (core/redis_durability.py) against a real Redis: with
the cluster's replicas it passes, and it fails (so the batch is not acked) when a master
has fewer replicas than asked for, within its timeout."""

from __future__ import annotations

import time

import pytest
from redis.asyncio import Redis

from core.errors import StoreError
from core.redis_durability import ReplicaWait

from .conftest import TEST_REDIS

pytestmark = [pytest.mark.redis]


async def test_more_replicas_than_a_master_has_fail_within_the_timeout(redis: Redis) -> None:
    # the session's single Redis has no replica; each cluster master has one
    wait = ReplicaWait(redis, replicas=2, timeout_ms=300)
    started = time.monotonic()
    with pytest.raises(StoreError, match="not on 2 replica"):
        await wait()
    assert time.monotonic() - started < 10


@pytest.mark.skipif(TEST_REDIS != "cluster", reason="the single test Redis has no replica")
async def test_every_master_of_the_cluster_confirms_on_its_replica(redis: Redis) -> None:
    await redis.set("rw:test:durability", b"1")
    wait = ReplicaWait(redis, replicas=1, timeout_ms=5_000)
    try:
        await wait()
        await wait()  # the connections are kept
        assert len(wait._masters) == 3
        assert len({m.key for m in wait._masters}) == 3
    finally:
        await wait.aclose()
