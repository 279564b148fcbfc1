"""A Redis crash while a worker consumes a feed: ``kill -9`` of Redis, restarted from its
AOF (``appendfsync always``, as the local stack runs it), and every profile still counts
each distinct event exactly once.

The test runs a Redis of its own (a ``redis-server`` on a free port, in a temporary
directory), so killing it never disturbs the session's Redis, and topics and a consumer
group of its own. While Redis is down the worker's batches fail and are retried, nothing is
acknowledged to Kafka, and nothing the worker does outside a batch (progress, heartbeats,
relays) may stop it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.redis_client import sync_client

from .conftest import Proc, isolated_settings, start_worker
from .exactly_once_kit import (
    Lag,
    Plan,
    assert_profiles_exact,
    feed_until_the_fault,
    processed,
    topic_size,
    wait,
)
from .redis_server import RedisServer

pytestmark = [pytest.mark.kafka, pytest.mark.redis]

DOWN_S = 3.0  # how long Redis stays down


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


def test_redis_killed_mid_stream_and_restarted_from_its_aof_loses_nothing(
    services: dict[str, str],
    own_redis: RedisServer,
    logs_dir: Path,
    tmp_path: Path,
) -> None:
    seed = random.randrange(1 << 30)
    plan = Plan(seed, enterprises=300, body_events=9_000)
    settings = isolated_settings(
        services, kind="rcrash", redis_url=own_redis.url, state_dir=tmp_path / "faust"
    )
    client = sync_client(settings.redis_url, socket_timeout=5)
    context = f"(seed {seed}, app {settings.app_id}, logs {logs_dir}/worker-redis-crash.log)"
    worker: Proc | None = None
    try:
        worker = start_worker(settings, logs_dir, name="worker-redis-crash")
        departments = feed_until_the_fault(settings, plan, client, worker, context=context)
        own_redis.kill9()  # while the worker is writing: the fault lands mid-batch
        at_kill = time.monotonic()
        time.sleep(DOWN_S)
        assert worker.alive(), f"the worker died while Redis was down {context}\n{worker.tail()}"
        own_redis.start()  # from the AOF in the same directory
        down = time.monotonic() - at_kill
        after_restart = processed(client)
        assert after_restart < plan.total, f"the feed was done before Redis died {context}"

        departments.finish(timeout=180)
        # Drained is what the group committed, not the progress count: that count is
        # bookkeeping written after a batch and never retried (processors/progress.py), so
        # the crash may cost it the batch that finished as Redis died.
        lag = Lag(settings)
        try:
            wait(
                lambda: lag() == 0,
                timeout=180,
                what=f"the worker commits all {plan.total} messages after Redis restarts "
                f"(lag {lag.last}) {context}",
                proc=worker,
            )
        finally:
            lag.close()
        assert_profiles_exact(client, plan, context)
        assert topic_size(settings, settings.topic_dlq) == 0
        print(
            f"{plan.total} messages; Redis down {down:.1f}s with {after_restart} processed "
            f"(as restored from the AOF); {processed(client)} processed in all"
        )
    finally:
        if worker is not None:
            worker.stop()
        client.close()
