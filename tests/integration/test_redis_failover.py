"""riskwire on a Redis Cluster (three masters, three replicas, ``deploy/redis-cluster.sh``)
whose master dies with ``kill -9`` while a worker is in the middle of a feed.

Redis replicates asynchronously, so a write a master acknowledged may be missing on the
replica promoted in its place. The worker therefore waits for a replica to hold a batch's
writes (``WAIT``, :mod:`core.redis_durability`) before the batch's offsets may be
committed. The test makes that window wide: it stops the master's replica (``SIGSTOP``),
so the master acknowledges writes that no replica holds, and checks that no offset is
committed while the replica cannot confirm them; then it kills the master, lets the
replica go on and take over, and checks that every profile counts each distinct event
exactly once.
"""

from __future__ import annotations

import contextlib
import gc
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.redis_client import sync_client
from core.settings import Settings

from .conftest import ROOT, Proc, free_run_of_ports, isolated_settings, start_worker
from .exactly_once_kit import Departments, Lag, Plan, assert_profiles_exact, processed, wait

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.redis,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

SCRIPT = ROOT / "deploy" / "redis-cluster.sh"
NODES = 6
STALLED_S = 6.0  # how long the replica is stopped while its master takes writes


class RedisNodes:
    """A Redis Cluster of this module's own (its own directory and ports)."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.base = free_run_of_ports(16)  # six nodes, their buses at +10
        self.env = {
            **os.environ,
            "RISKWIRE_REDIS_CLUSTER_DIR": str(directory),
            "RISKWIRE_REDIS_CLUSTER_PORT": str(self.base),
        }

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            ["bash", str(SCRIPT), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, f"redis-cluster.sh {' '.join(args)}: {done.stderr[-2000:]}"
        return done.stdout.strip()

    def port(self, n: int) -> int:
        return self.base + n - 1

    def pid(self, n: int) -> int:
        return int((self.dir / f"node-{n}" / "redis.pid").read_text().strip())

    def role(self, n: int) -> list[Any]:
        client = sync_client(f"redis://127.0.0.1:{self.port(n)}/0", socket_timeout=3)
        try:
            return list(client.role())
        finally:
            client.close()

    def master_and_replica(self) -> tuple[int, int]:
        """A master (node number) and its replica's."""
        for n in range(1, NODES + 1):
            role = self.role(n)
            if role[0] == b"slave":
                master = role[2] - self.base + 1
                return master, n
        raise AssertionError("no replica in the cluster")


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisNodes]:
    c = RedisNodes(tmp_path_factory.mktemp("redis-cluster"))
    try:
        c("up")
        yield c
    finally:
        for n in range(1, NODES + 1):
            with contextlib.suppress(OSError, ValueError):  # a killed node's pid is gone
                os.kill(c.pid(n), signal.SIGCONT)
        c("down")


def committed_stays(lag: Lag, seconds: float) -> tuple[int, int]:
    """The group's committed offsets at the start and the end of ``seconds``."""
    first = lag.committed()
    time.sleep(seconds)
    return first, lag.committed()


def test_a_master_killed_mid_feed_loses_nothing_and_applies_nothing_twice(
    services: dict[str, str], nodes: RedisNodes, logs_dir: Path, tmp_path: Path
) -> None:
    seed = random.randrange(1 << 30)
    plan = Plan(seed, enterprises=300, body_events=9_000)
    settings: Settings = isolated_settings(
        {**services, "redis": nodes("url")}, kind="failover", state_dir=tmp_path
    )
    client = sync_client(settings.redis_url)
    context = f"(seed {seed}, app {settings.app_id}, {settings.redis_url})"
    lag = Lag(settings)
    master, replica = nodes.master_and_replica()
    worker: Proc | None = None
    try:
        worker = start_worker(settings, logs_dir, name="worker-redis-failover")
        departments = Departments(settings, plan)
        wait(
            lambda: processed(client) > 0.2 * plan.total,
            timeout=180,
            what=f"the worker processes 20% of {plan.total} {context}",
            proc=worker,
        )
        os.kill(nodes.pid(replica), signal.SIGSTOP)
        # Give the worker's last replicated batch time to be committed (every second).
        time.sleep(2.5)
        first, last = committed_stays(lag, STALLED_S)
        at_kill = processed(client)
        nodes("kill", str(master))
        os.kill(nodes.pid(replica), signal.SIGCONT)
        assert at_kill < plan.total, f"the feed was done before the master died {context}"
        # The master took writes no replica confirmed: none of their offsets was committed.
        assert last == first, (
            f"{last - first} offsets committed while no replica held the writes {context}"
        )
        # The replica takes over; the dead node is replaced (started again: it rejoins as
        # the new master's replica), for until then the promoted master has no replica to
        # confirm writes on and the worker waits, acking nothing.
        wait(
            lambda: nodes.role(replica)[0] == b"master",
            timeout=120,
            what=f"node {replica} takes over from node {master} {context}",
        )
        nodes("start", str(master))
        departments.finish(timeout=180)
        # (drained by the committed offsets: the progress count itself is not fenced, and
        # the increments the dead master took while its replica was stopped are gone)
        wait(
            lambda: lag() == 0,
            timeout=300,
            what=f"the worker processes all {plan.total} messages after the failover {context}",
            proc=worker,
        )
        assert nodes.role(master)[0] == b"slave", f"node {master} did not rejoin {context}"
        assert_profiles_exact(client, plan, context)
        print(
            f"{plan.total} messages; replica {replica} stopped {STALLED_S:.0f}s with "
            f"{first} offsets committed; master {master} killed at {at_kill} processed; "
            f"{processed(client)} processed in all"
        )
    finally:
        lag.close()
        gc.collect()
        if worker is not None:
            worker.stop()
        client.close()
