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
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_sync

from core.redis_client import sync_client

from .conftest import Proc, free_port, isolated_settings, start_worker
from .exactly_once_kit import (
    Departments,
    Lag,
    Plan,
    assert_profiles_exact,
    processed,
    topic_size,
    wait,
)

pytestmark = [pytest.mark.kafka, pytest.mark.redis]

DOWN_S = 3.0  # how long Redis stays down


class OwnRedis:
    """A ``redis-server`` of the test's own, with the local stack's durability settings."""

    def __init__(self, directory: Path) -> None:
        self.dir, self.port = directory, free_port()
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (deploy/stack.sh installs it)"
        self.popen = subprocess.Popen(
            [
                binary,
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--dir", str(self.dir),
                "--appendonly", "yes",
                "--appendfsync", "always",
                "--save", "",
                "--logfile", str(self.dir / "redis.log"),
            ],
        )  # fmt: skip
        client = sync_client(self.url, socket_timeout=1)
        deadline = time.monotonic() + 30
        while True:
            try:
                if client.ping():
                    break
            except redis_sync.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        client.close()

    def kill9(self) -> None:
        assert self.popen is not None
        self.popen.kill()
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            self.popen.wait(timeout=30)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def test_redis_killed_mid_stream_and_restarted_from_its_aof_loses_nothing(
    services: dict[str, str],
    own_redis: OwnRedis,
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
        departments = Departments(settings, plan)
        wait(
            lambda: processed(client) > 0.3 * plan.total,
            timeout=120,
            what=f"the worker processes 30% of {plan.total} {context}",
            proc=worker,
        )
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
