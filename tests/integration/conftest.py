"""Real Kafka and Redis for the integration tests, started by the test session.

The session reuses a broker and Redis that answer (``make test`` starts them with
``deploy/stack.sh up``) and otherwise starts them itself. A test that needs them fails in
CI (``CI=true``) when they cannot be had; locally it is skipped with the reason.

Each session gets its own topics (``t<id>.…``), consumer group and Redis database, so tests
never see a running ``make run`` stack's data.

``RISKWIRE_TEST_REDIS=cluster`` runs the same tests against a Redis Cluster (three masters,
three replicas) that the session starts with ``deploy/redis-cluster.sh`` on
``RISKWIRE_REDIS_CLUSTER_PORT``; a cluster has one database, so the session flushes it
instead, and a test that claims a database of its own (``claim_redis_db``) gets the whole
cluster, emptied: such a test runs in a session of its own (``make test-cluster``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from redis.asyncio import Redis

from cli.process import settings_env
from core.redis_client import is_cluster_url, redis_client, sync_client
from core.settings import Settings
from streams.kafka import ensure_topics

if TYPE_CHECKING:
    from .api_kit import Accounts

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_REDIS_DB = int(os.environ.get("RISKWIRE_TEST_REDIS_DB", "15"))
TEST_REDIS = os.environ.get("RISKWIRE_TEST_REDIS", "single")
CLUSTER_SCRIPT = ROOT / "deploy/redis-cluster.sh"
_shared_processes: list[str] = []  # session-wide workers and APIs started (cluster claims)


def _kafka_up(bootstrap: str) -> bool:
    host, _, port = bootstrap.partition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            pass
    except OSError:
        return False
    try:
        from kafka import KafkaAdminClient

        KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000).close()
        return True
    except Exception:
        return False


def _redis_up(url: str) -> bool:
    try:
        client = sync_client(url, socket_timeout=2)
        try:
            return bool(client.ping()) and bool(client.set("rw:test:writable", b"1", ex=60))
        finally:
            client.close()
    except Exception:
        return False


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: tests that need real services fail instead of skipping)")
    pytest.skip(reason)


def cluster_url() -> str:
    """The session's Redis Cluster (deploy/redis-cluster.sh), started if it is not up."""
    script = ["bash", str(CLUSTER_SCRIPT)]
    url = subprocess.run([*script, "url"], check=True, capture_output=True, text=True).stdout
    if not _redis_up(url.strip()):
        subprocess.run([*script, "up"], check=False, timeout=180)
    return url.strip()


@pytest.fixture(scope="session")
def services() -> dict[str, str]:
    """Kafka and Redis addresses, after making sure both answer."""
    bootstrap = os.environ.get("RISKWIRE_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    redis_url = os.environ.get("RISKWIRE_REDIS_URL", "redis://127.0.0.1:6379/0")
    if TEST_REDIS == "cluster":
        redis_url = cluster_url()
        if not _redis_up(redis_url):
            _unavailable(f"the Redis Cluster did not start ({redis_url})")
    if not (_kafka_up(bootstrap) and _redis_up(redis_url)):
        subprocess.run(["bash", str(ROOT / "deploy/stack.sh"), "up"], check=False, timeout=600)
    if not _kafka_up(bootstrap):
        _unavailable(f"Kafka is not reachable at {bootstrap}")
    if not _redis_up(redis_url):
        _unavailable(f"Redis is not reachable at {redis_url}")
    if is_cluster_url(redis_url):
        return {"kafka": bootstrap, "redis": redis_url}
    base = redis_url.rsplit("/", 1)[0] if redis_url.count("/") > 2 else redis_url
    return {"kafka": bootstrap, "redis": f"{base}/{TEST_REDIS_DB}"}


def isolated_settings(
    services: dict[str, str],
    *,
    kind: str,
    redis_url: str | None = None,
    state_dir: Path | None = None,
    **overrides: Any,
) -> Settings:
    """Settings of their own: topics under a fresh prefix (created here), a consumer group,
    and the given Redis database (the session's by default) and faust data directory;
    ``overrides`` sets any other field (e.g. the replication of a cluster's topics)."""
    run = uuid.uuid4().hex[:8]
    prefix = f"{kind[0]}{run}."
    extra: dict[str, Any] = {"state_dir": state_dir} if state_dir is not None else {}
    settings = Settings(
        env="test",
        log_format="console",
        kafka_bootstrap=services["kafka"],
        redis_url=redis_url or services["redis"],
        identity_secret="riskwire-integration-test-secret",  # type: ignore[arg-type]
        sealing_keys="it1:riskwire-integration-test-sealing-key-01",  # type: ignore[arg-type]
        audit_key="riskwire-integration-test-audit-key",  # type: ignore[arg-type]
        topic_audit_anchor=prefix + "riskwire.audit.anchor",
        app_id=f"riskwire-{kind}-{run}",
        partitions=4,
        topic_registration=prefix + "registration.changes",
        topic_court=prefix + "court.filings",
        topic_tax=prefix + "tax.events",
        topic_enforcement=prefix + "enforcement.uploads",
        topic_alerts=prefix + "riskwire.alerts",
        topic_grades=prefix + "riskwire.grades",
        topic_dlq=prefix + "riskwire.dlq",
        topic_alert_archive=prefix + "riskwire.alert-archive",
        topic_dlq_outputs=prefix + "riskwire.dlq.outputs",
        worker_metrics_port=0,
        # The webhook tests' receivers listen on loopback: allowed explicitly, as a
        # deployment would allow its own receivers' networks.
        webhook_allowed_networks=("127.0.0.0/8",),
        # The session's API serves every test module, often with one token per module;
        # test_api_rate_limits runs an API of its own with small budgets.
        **dict.fromkeys(
            (f"rate_limit_{q}_per_min" for q in ("batch", "related", "expand", "draws")), 10_000
        ),
        **extra,
        **overrides,
    )
    ensure_topics(settings)
    return settings


def claim_redis_db(
    services: dict[str, str], run: str, *, marker: str, lock: str, dbs: tuple[int, ...]
) -> str:
    """The URL of a Redis database (the first free one of ``dbs``) for one test run alone:
    an empty one, or one an earlier run of the same test left behind (it holds
    ``marker``), locked with ``lock`` against concurrent runs and emptied. Other sessions
    on this Redis (another ``RISKWIRE_TEST_REDIS_DB``, the benchmarks) never lose data.

    A cluster has one database: the claim empties the whole cluster, so no session-wide
    worker or API may be running (the test runs in a session of its own)."""
    if is_cluster_url(services["redis"]):
        assert not _shared_processes, (
            f"claiming the Redis Cluster would empty the data of the session's {_shared_processes}:"
            " run this test in a pytest session of its own (make test-cluster does)"
        )
        flush(services["redis"])
        client = sync_client(services["redis"])
        client.set(marker, run)
        client.close()
        return services["redis"]
    base, _, session_db = services["redis"].rpartition("/")
    for db in dbs:
        if str(db) == session_db:
            continue
        client = sync_client(f"{base}/{db}")
        try:
            if client.dbsize() and not client.exists(marker):
                continue  # someone else's
            if not client.set(lock, run, nx=True, ex=600):
                continue  # a concurrent run of this test
            for key in client.scan_iter(count=1000):
                if key != lock.encode():
                    client.unlink(key)
            client.set(marker, run)
            return f"{base}/{db}"
        finally:
            client.close()
    raise AssertionError(f"no free Redis database among {dbs}")


@pytest.fixture(scope="session")
def settings(services: dict[str, str]) -> Settings:
    flush(services["redis"])
    return isolated_settings(services, kind="test")


def flush(url: str) -> None:
    """Empty the session's database (every master of a cluster)."""
    client = sync_client(url)
    try:
        client.flushdb()  # a cluster client sends it to every master
    finally:
        client.close()


@pytest.fixture
def redis_url(settings: Settings) -> str:
    return settings.redis_url


@pytest.fixture
async def redis(services: dict[str, str]) -> AsyncIterator[Redis]:
    """A client of the session's Redis database (a module that needs another defines its own)."""
    client = redis_client(services["redis"])
    yield client
    await client.aclose()


class Proc:
    """A riskwire child process with its log."""

    def __init__(
        self, args: list[str], env: dict[str, str], log: Path, metrics_url: str | None = None
    ) -> None:
        self.args, self.env, self.log = args, env, log
        self.metrics_url = metrics_url  # a worker's own /metrics
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        with self.log.open("ab") as out:  # the child keeps its own descriptor
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "cli", *self.args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill9(self) -> None:
        assert self.popen is not None
        self.popen.kill()
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


METRICS_DIR = Path(tempfile.mkdtemp(prefix="riskwire-test-metrics-"))


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a riskwire child process: the session's settings, and a
    Prometheus multiprocess directory (the API serves it; a worker drops it and serves its
    own samples on its metrics port)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKWIRE_")}
    env.update(settings_env(settings))
    env["PROMETHEUS_MULTIPROC_DIR"] = str(METRICS_DIR)
    env.update(extra)
    return env


def wait_for(predicate: Any, *, timeout: float, what: str, proc: Proc | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and not proc.alive():
            raise AssertionError(f"{what}: the process exited\n{proc.tail()}")
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout}s" + (f"\n{proc.tail()}" if proc else ""))


def workers_assigned(settings: Settings) -> int:
    import orjson

    from processors.heartbeat import WORKERS_KEY

    client = sync_client(settings.redis_url)
    now = time.time()
    return sum(
        orjson.loads(v)["assigned"]
        for v in client.hgetall(WORKERS_KEY).values()
        if now - orjson.loads(v)["at"] < 15
    )


@pytest.fixture(scope="session")
def logs_dir() -> Path:
    path = ROOT / "build" / "test-logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_worker(
    settings: Settings, logs_dir: Path, name: str = "worker", *, timeout: float = 90
) -> Proc:
    """A worker process, serving its own /metrics on a free port (``proc.metrics_url``)."""
    port = free_port()
    env = child_env(settings, RISKWIRE_WORKER_METRICS_PORT=str(port))
    metrics = f"http://127.0.0.1:{port}/metrics"
    proc = Proc(["worker"], env, logs_dir / f"{name}.log", metrics_url=metrics).start()
    wait_for(
        lambda: workers_assigned(settings) > 0, timeout=timeout, what="worker ready", proc=proc
    )
    return proc


@pytest.fixture(scope="session")
def worker(settings: Settings, logs_dir: Path) -> Iterator[Proc]:
    _shared_processes.append("worker")
    proc = start_worker(settings, logs_dir)
    yield proc
    proc.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_run_of_ports(count: int) -> int:
    """A first port such that it and the ``count - 1`` after it are free on loopback."""
    import random

    for _ in range(50):
        base = random.randrange(30_000, 60_000, 2)
        try:
            for port in range(base, base + count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise AssertionError(f"no run of {count} free ports")


def api_answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start_api(
    settings: Settings, log: Path, *, timeout: float = 60, **env: str
) -> tuple[Proc, str]:
    """An API process on a free port (``env``: extra ``RISKWIRE_*`` over ``settings``),
    once it answers ``/healthz``; its base URL."""
    port = free_port()
    proc = Proc(["api", "--port", str(port)], child_env(settings, **env), log).start()
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: api_answers(base), timeout=timeout, what="API healthy", proc=proc)
    return proc, base


@pytest.fixture(scope="session")
def api_server(settings: Settings, logs_dir: Path) -> Iterator[str]:
    _shared_processes.append("api")
    proc, base = start_api(settings, logs_dir / "api.log")
    yield base
    proc.stop()


@pytest.fixture(scope="module")
def people(settings: Settings, api_server: str) -> Accounts:
    """The accounts of one test module on the session's API (made once per module)."""
    from .api_kit import Accounts  # api_kit imports this module: import it when used

    return Accounts(settings, api_server)
