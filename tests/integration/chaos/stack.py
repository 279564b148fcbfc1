"""The processes of one run: a Redis of its own (append-only, ``appendfsync always``),
two workers and the API on topics and a consumer group of their own, on the test
module's three-node Kafka. Each can be killed and started again in place: a restarted
worker or API keeps its port and log. A keeper restarts a worker that exits by itself
(the stall watchdog's exit, :mod:`processors.stall`), as Kubernetes would."""

from __future__ import annotations

import threading
from pathlib import Path

import redis as redis_sync

from core.settings import Settings

from ..conftest import Proc, isolated_settings, start_api, start_worker
from ..kafka_cluster_kit import NODES, Cluster
from ..redis_server import RedisServer

WORKERS = 2
START_S = 240.0  # the machine is shared: a process may take minutes to import and start
STALL_S = 45.0  # a wedged consumer is replaced within a minute (processors.stall)


class RunStack:
    def __init__(self, name: str, services: dict[str, str], cluster: Cluster, root: Path) -> None:
        self.name, self.cluster = name, cluster
        root.mkdir(parents=True, exist_ok=True)
        (root / "redis").mkdir(exist_ok=True)
        self.redis = RedisServer(root / "redis").start()
        self.settings: Settings = isolated_settings(
            {**services, "kafka": cluster("bootstrap")},
            kind=name,
            redis_url=self.redis.url,
            state_dir=root / "faust",
            kafka_replication_factor=NODES,
            kafka_min_insync_replicas=2,
            worker_stall_s=STALL_S,
        )
        self.client = redis_sync.Redis.from_url(self.redis.url, socket_timeout=10)
        self.workers: list[Proc] = []
        self.api: Proc | None = None
        self.base = ""
        self.lock = threading.Lock()  # a fault and the keeper never restart one worker twice
        self.exits: list[str] = []  # workers that exited by themselves, and their status
        self._stopping = threading.Event()
        self._keeper = threading.Thread(target=self._keep, name="chaos-keeper", daemon=True)

    def start(self, logs: Path) -> RunStack:
        for i in range(WORKERS):
            name = f"chaos-{self.name}-w{i}"
            self.workers.append(start_worker(self.settings, logs, name, timeout=START_S))
        log = logs / f"chaos-{self.name}-api.log"
        self.api, self.base = start_api(self.settings, log, timeout=START_S)
        self._keeper.start()
        return self

    def _keep(self) -> None:
        while not self._stopping.wait(1.0):
            with self.lock:
                for proc in self.workers:
                    if not proc.alive() and proc.popen is not None:
                        self.exits.append(f"{proc.log.name}: status {proc.popen.returncode}")
                        proc.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._keeper.is_alive():
            self._keeper.join(timeout=5)
        for proc in [*self.workers, *([self.api] if self.api else [])]:
            proc.stop()
        self.client.close()
        self.redis.stop()

    def tails(self) -> str:
        procs = [*self.workers, *([self.api] if self.api else [])]
        return "\n".join(f"--- {p.log.name}\n{p.tail(15)}" for p in procs)
