"""The bench's worker processes on the backlog: starting and stopping them, waiting until
every one holds partitions, timing the drain, and the CPU and Redis commands it took."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import redis as redis_sync
from kafka.admin import KafkaAdminClient
from rich.progress import Progress

from cli.bench_figures import console
from cli.bench_kafka import POLL_S, ROOT, STALL_TIMEOUT_S, BenchError, admin_client
from cli.process import settings_env, terminate
from core.settings import Settings
from processors.heartbeat import WORKERS_KEY
from processors.progress import STATS_KEY

WORKER_READY_TIMEOUT_S = 120.0


class Workers:
    """``count`` ``riskwire <command>`` processes in one consumer group, each with its log
    (``build/logs/bench-<command>-<i>.log``)."""

    def __init__(self, settings: Settings, count: int, logs: Path, command: str = "worker") -> None:
        self.settings, self.count, self.command = settings, count, command
        self.logs = [logs / f"bench-{command}-{i}.log" for i in range(1, count + 1)]
        self.popens: list[subprocess.Popen[bytes]] = []
        self.spawned_at = 0.0

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RISKWIRE_")}
        env.update(settings_env(self.settings))
        env.update(RISKWIRE_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
        self.spawned_at = time.perf_counter()
        for log in self.logs:
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("wb") as out:
                self.popens.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "cli", self.command],
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        cwd=ROOT,
                        start_new_session=True,  # Ctrl-C reaches the bench, which stops them
                    )
                )

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.popens]

    def check_alive(self) -> None:
        if len(self.popens) < self.count:
            raise BenchError("the workers were not started")
        for popen, log in zip(self.popens, self.logs, strict=True):
            if popen.poll() is not None:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
                raise BenchError(f"a worker exited; log {log}:\n{tail}")

    def stop(self) -> None:
        terminate(self.popens, grace_s=30)


def members_assigned(admin: KafkaAdminClient, group: str, topics: Sequence[str]) -> int:
    """Members of ``group`` that hold input partitions once it is stable (0 before)."""
    doc: dict[str, Any] = admin.describe_groups([group]).get(group) or {}
    if doc.get("group_state") != "Stable":
        return 0
    return sum(1 for m in doc.get("members", []) if _holds(m.get("member_assignment"), topics))


def _holds(assignment: Any, topics: Sequence[str]) -> bool:
    if not isinstance(assignment, dict):
        return False
    return any(
        tp.get("partitions") and tp.get("topic") in topics
        for tp in assignment.get("assigned_partitions", [])
    )


def heartbeat_assigned(client: redis_sync.Redis) -> int:
    now = time.time()
    docs = [orjson.loads(v) for v in client.hgetall(WORKERS_KEY).values()]
    return sum(int(d["assigned"]) for d in docs if now - float(d["at"]) < 15)


def processed(client: redis_sync.Redis, key: str = STATS_KEY) -> int:
    return int(client.hget(key, "processed") or 0)


@dataclass(slots=True)
class Drain:
    assigned_at: float
    drained_at: float
    heartbeat_at: float | None
    cpu_at_assigned: CpuSample
    cpu_at_drained: CpuSample
    untimed: int  # processed before every worker held partitions (a rebalance was pending)


@dataclass(frozen=True, slots=True)
class CpuSample:
    """CPU seconds used so far by the worker processes (Linux ``/proc``) and Redis, and the
    commands Redis has executed so far, by name (``INFO commandstats``: a Lua script's own
    commands are counted as well as the ``EVALSHA`` that ran them)."""

    worker_s: float | None
    redis_s: float | None
    redis_calls: dict[str, int] | None = None
    batches: tuple[int, int] = (0, 0)  # the workers' batches, and their sequential round trips

    def __sub__(self, other: CpuSample) -> CpuSample:
        def diff(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None else a - b

        calls = None
        if self.redis_calls is not None and other.redis_calls is not None:
            before = other.redis_calls
            calls = {k: v - before.get(k, 0) for k, v in self.redis_calls.items()}
        (n, trips), (n0, trips0) = self.batches, other.batches
        return CpuSample(
            diff(self.worker_s, other.worker_s),
            diff(self.redis_s, other.redis_s),
            calls,
            (n - n0, trips - trips0),
        )

    @property
    def round_trips_per_batch(self) -> float | None:
        """Sequential Redis round trips a batch (processors/progress.py); None if the
        workers counted none."""
        n, trips = self.batches
        return trips / n if n > 0 else None


def command_calls(client: redis_sync.Redis) -> dict[str, int] | None:
    """Calls so far of every command Redis has run (``INFO commandstats``); None when
    INFO does not say."""
    try:
        info: dict[str, Any] = client.info("commandstats")
    except Exception:
        return None
    return {
        name.removeprefix("cmdstat_"): int(stats["calls"])
        for name, stats in info.items()
        if isinstance(stats, dict) and "calls" in stats
    }


def per_event(calls: dict[str, int], events: int, top: int = 4) -> tuple[float, dict[str, float]]:
    """(commands per event, the ``top`` commands' share of it), leaving out the bench's own
    polling (``HGET`` of the progress counter, ``HGETALL`` of heartbeats, ``INFO``).

    >>> per_event({"evalsha": 300, "hincrby": 3, "info": 9, "hget": 40}, 100, top=2)
    (3.03, {'evalsha': 3.0, 'hincrby': 0.03})
    """
    counted = {k: v for k, v in calls.items() if k not in _BENCH_OWN and v > 0}
    ranked = sorted(counted.items(), key=lambda kv: -kv[1])[:top]
    return sum(counted.values()) / events, {k: v / events for k, v in ranked}


_BENCH_OWN = frozenset({"hget", "hgetall", "info", "ping"})


def process_cpu_s(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_sample(workers: Workers, client: redis_sync.Redis) -> CpuSample:
    try:
        info: dict[str, Any] = client.info("cpu")
        redis_s: float | None = float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    except Exception:
        redis_s = None
    each = [process_cpu_s(pid) for pid in workers.pids]
    worker_s = None if not each or None in each else sum(s for s in each if s is not None)
    return CpuSample(worker_s, redis_s, command_calls(client), batch_counts(client))


def batch_counts(client: redis_sync.Redis) -> tuple[int, int]:
    """(batches, their sequential round trips) the workers counted so far."""
    try:  # two HGETs: the bench's own polling, left out of the commands per event
        return int(client.hget(STATS_KEY, "batches") or 0), int(
            client.hget(STATS_KEY, "round_trips") or 0
        )
    except Exception:
        return 0, 0


def aof_rewrites(client: redis_sync.Redis) -> tuple[int, int] | None:
    """(Redis AOF rewrites started so far, how many of them are running now: 0 or 1); None
    when AOF is off or INFO does not say."""
    try:
        info: dict[str, Any] = client.info("persistence")
    except Exception:
        return None
    if not int(info.get("aof_enabled", 0)) or "aof_rewrites" not in info:
        return None
    return int(info["aof_rewrites"]), int(info.get("aof_rewrite_in_progress", 0))


def rewrites_between(before: tuple[int, int] | None, after: tuple[int, int] | None) -> int | None:
    """AOF rewrites that ran at some time between two samples, one running at the first
    included (Redis counts a rewrite when it starts).

    >>> rewrites_between((5, 1), (5, 0)), rewrites_between((5, 0), (7, 1))
    (1, 2)
    >>> rewrites_between((5, 0), (5, 0)), rewrites_between(None, (5, 0))
    (0, None)
    """
    if before is None or after is None:
        return None
    started, running = before
    return after[0] - started + running


def drain(
    settings: Settings,
    worker: Workers,
    client: redis_sync.Redis,
    n: int,
    key: str = STATS_KEY,
) -> Drain:
    """Poll every 50 ms until the workers have processed ``n`` messages (their count in
    ``key``), timed from the moment every worker holds partitions: the first to join
    drains alone until the group rebalances, and that start-up is not the sustained
    rate."""
    admin = admin_client(settings)
    assigned_at: float | None = None
    untimed = 0
    heartbeat_at: float | None = None
    cpu = CpuSample(None, None)
    last_count, last_change = 0, time.monotonic()
    try:
        with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
            task = bar.add_task("worker starting", total=n)
            while True:
                worker.check_alive()
                now = time.perf_counter()
                count = processed(client, key)
                if assigned_at is None and _all_assigned(admin, settings, worker.count):
                    assigned_at, cpu, untimed = now, cpu_sample(worker, client), count
                    bar.update(task, description="draining")
                if heartbeat_at is None and heartbeat_assigned(client) > 0:
                    heartbeat_at = now
                bar.update(task, completed=min(count, n))
                if count >= n:
                    if assigned_at is None:
                        raise BenchError(
                            "the backlog was drained before every worker held partitions: "
                            "raise --events"
                        )
                    drained = cpu_sample(worker, client)
                    return Drain(assigned_at, now, heartbeat_at, cpu, drained, untimed)
                _check_stall(worker, count, last_count, last_change, assigned_at)
                if count != last_count:
                    last_count, last_change = count, time.monotonic()
                time.sleep(POLL_S)
    finally:
        admin.close()


def _all_assigned(admin: KafkaAdminClient, settings: Settings, workers: int) -> bool:
    return members_assigned(admin, settings.app_id, settings.input_topics) >= workers


def _check_stall(
    worker: Workers, count: int, last_count: int, last_change: float, assigned: float | None
) -> None:
    if assigned is None and time.perf_counter() - worker.spawned_at > WORKER_READY_TIMEOUT_S:
        raise BenchError(f"the worker got no partitions in {WORKER_READY_TIMEOUT_S:.0f} s")
    stalled = time.monotonic() - last_change > STALL_TIMEOUT_S
    if assigned is not None and count == last_count and stalled:
        raise BenchError(f"the worker stalled at {count} processed messages")


def wait_heartbeat(worker: Workers, client: redis_sync.Redis, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while heartbeat_assigned(client) == 0:
        worker.check_alive()
        if time.monotonic() > deadline:
            raise BenchError("no worker heartbeat with assigned partitions")
        time.sleep(0.2)
