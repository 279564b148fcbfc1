"""Exactly-once through a ``kill -9``: a worker is killed while it consumes ~20,000 events,
a new one takes over its consumer group, and every enterprise profile ends up counting
every distinct event exactly once (nothing lost, nothing counted twice).

The test runs on topics, a consumer group and a Redis database of its own (an empty one
it claims, see ``claim_redis_db``), so killing its worker never disturbs the session
worker, and flushing its database never disturbs another test session. It lowers
faust's consumer session timeout (``BROKER_SESSION_TIMEOUT``) for its workers so that the
group gives the dead worker's partitions to the new one within seconds instead of a minute.
"""

from __future__ import annotations

import os
import random
import signal
import time
import uuid
from pathlib import Path

import pytest
import redis as redis_sync

from core.redis_client import sync_client

from .conftest import Proc, isolated_settings, start_worker
from .exactly_once_kit import (
    LOCK,
    Lag,
    Plan,
    assert_profiles_exact,
    claim_redis_db,
    feed_until_the_fault,
    processed,
    topic_size,
    wait,
)

pytestmark = [pytest.mark.kafka, pytest.mark.redis]


def kill_with_work_uncommitted(
    proc: Proc, client: redis_sync.Redis, lag: Lag, *, total: int, context: str
) -> tuple[int, int]:
    """``kill -9`` the worker at a moment it has processed messages it has not committed, so
    that the group must redeliver them to the next worker. The worker is frozen (SIGSTOP)
    while its Redis count and the group's committed offsets are compared, so no commit can
    land between the check and the kill; if it holds nothing uncommitted (it was idle and
    caught up) it is thawed and checked again. Answers (processed, committed) at the kill."""
    assert proc.popen is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        os.kill(proc.popen.pid, signal.SIGSTOP)
        try:
            time.sleep(0.3)  # requests already sent (a commit, a Redis write) settle meanwhile
            at, committed = processed(client), lag.committed()
            assert at < total, f"the worker finished before the kill {context}"
            if at > committed:
                proc.kill9()
                return at, committed
        finally:
            if proc.alive():  # thawed whenever it was not killed, a failed check included
                os.kill(proc.popen.pid, signal.SIGCONT)
        time.sleep(random.uniform(0.05, 0.5))
    raise AssertionError(f"the worker never held uncommitted messages for a minute {context}")


def test_kill_9_mid_stream_loses_nothing_and_counts_nothing_twice(
    services: dict[str, str],
    logs_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    seed = random.randrange(1 << 30)
    plan = Plan(seed)
    settings = isolated_settings(
        services,
        kind="kill",
        redis_url=claim_redis_db(services, uuid.uuid4().hex[:8]),
        state_dir=tmp_path,
    )
    client = sync_client(settings.redis_url)
    # Child processes inherit these (faust reads them): a dead member leaves the group fast.
    monkeypatch.setenv("BROKER_SESSION_TIMEOUT", "8")
    monkeypatch.setenv("BROKER_HEARTBEAT_INTERVAL", "1")
    context = (
        f"(seed {seed}, app {settings.app_id}, {settings.redis_url}, "
        f"logs {logs_dir}/worker-kill*.log)"
    )

    first: Proc | None = None
    second: Proc | None = None
    passed = False
    try:
        first = start_worker(settings, logs_dir, name="worker-kill")
        departments = feed_until_the_fault(
            settings,
            plan,
            client,
            first,
            context=context,
            timeout=300,  # generous: the machine is shared, and a cluster run pays WAIT
            who="first worker",
        )
        lag = Lag(settings)
        try:
            at_kill, committed_at_kill = kill_with_work_uncommitted(
                first, client, lag, total=plan.total, context=context
            )
        finally:
            lag.close()

        departments.finish(timeout=180)

        second = start_worker(settings, logs_dir, name="worker-kill-restart")
        wait(
            lambda: processed(client) >= plan.total,
            timeout=420,
            what=f"new worker processes all {plan.total} messages {context}",
            proc=second,
        )
        lag = Lag(settings)
        try:
            wait(
                lambda: lag() == 0,
                timeout=30,
                what=f"consumer group commits every input offset (lag {lag.last}) {context}",
                proc=second,
            )
        finally:
            lag.close()
        last = [processed(client), time.monotonic()]

        def settled() -> bool:
            now = processed(client)
            if now != last[0]:
                last[:] = [now, time.monotonic()]
            return time.monotonic() - last[1] > 2.0

        wait(settled, timeout=30, what=f"processed stops growing {context}", proc=second)

        assert_profiles_exact(client, plan, context)
        assert topic_size(settings, settings.topic_dlq) == 0  # nothing was dead-lettered

        # -- the replay after the kill was recognised, not re-applied -------------------
        final = processed(client)
        # Every message the first worker processed but did not commit came again.
        uncommitted = at_kill - committed_at_kill
        assert final - plan.total >= uncommitted > 0, (
            f"processed {final} of {plan.total} messages: fewer than the {uncommitted} the "
            f"killed worker had not committed were redelivered {context}"
        )
        assert sum(plan.distinct.values()) == plan.total - plan.resent
        print(
            f"{plan.total} messages, {sum(plan.distinct.values())} distinct events; "
            f"killed at {at_kill} processed ({committed_at_kill} committed), "
            f"{final - plan.total} replayed after the kill; "
            f"{time.monotonic() - started:.1f}s"
        )
        passed = True
    finally:
        for proc in (first, second):
            if proc is not None:
                proc.stop()
        # Free the database for the next run; after a failure, keep its data to look at.
        if passed:
            client.flushdb()
        else:
            client.delete(LOCK)
        client.close()
