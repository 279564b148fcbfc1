"""``riskwire bench-api`` (``make bench-api``): how fast ``GET /api/v1/alerts`` answers
over a large alert store, through a real API process.

1. ``alerts`` synthetic alerts (every rule, its departments, a status mix, a year of
   creation times, one of 200,000 enterprises each) are written to a Redis database of
   their own (:data:`BENCH_API_REDIS_DB`) by pipelined ``HSET``s, as documents stored
   before the listing indices existed, then indexed by the backfill
   (:func:`alerts.index.reindex`, what ``riskwire alerts reindex`` runs). A database
   that already holds that many alerts is reused (``--reload`` forces a fresh load).
2. ``riskwire api`` starts on that database; each query below is sent ``requests``
   times, one after another, after a warm-up, and timed at the client. ``GET /healthz``
   is timed first the same way: the floor of any request on this machine at the time
   (on a busy shared machine most of a p99 is waiting for a core). Each line also gives
   the CPU the API process and Redis spent per request, which the machine's load does not
   change: on an idle machine a request takes about their sum plus the client's share.

The last line printed is the result for the plain first page::

    alerts=<n> list_limit50_p50_ms=<n> list_limit50_p99_ms=<n>

The database is left loaded, for the next run; ``redis-cli -n 12 flushdb`` frees it.
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import redis as redis_sync
from redis.asyncio import Redis
from rich.console import Console
from rich.progress import Progress
from ulid import ULID

from alerts.index import reindex
from alerts.index_keys import ALL_DEPARTMENTS, department_key
from alerts.store import DOC_KEY, REV_KEY
from cli.bench_figures import percentile
from cli.bench_kafka import with_redis_db
from core.redis_client import redis_client, sync_client
from core.settings import Settings
from simulate import samples
from streams.rule_catalog import RULE_IDS, departments_for

BENCH_API_REDIS_DB = 12
OURS = "rw:bench-api"  # marks the database as this benchmark's: any other is never flushed
ENTERPRISES = 200_000
_STATUSES: tuple[tuple[str, int], ...] = (
    ("open", 60),
    ("acknowledged", 10),
    ("assigned", 5),
    ("resolved", 15),
    ("dismissed", 10),
)
_SEVERITIES: tuple[tuple[str, int], ...] = (
    ("info", 5),
    ("low", 20),
    ("medium", 40),
    ("high", 30),
    ("critical", 5),
)
_LOAD_CHUNK = 5000


def synthetic_alerts(n: int, seed: int = 2017) -> Iterator[tuple[str, bytes]]:
    """``n`` (alert id, alert JSON) pairs shaped like the pipeline's alerts."""
    rng = random.Random(seed)
    usccs = [samples.make_uscc(rng) for _ in range(min(n, ENTERPRISES))]
    now = datetime.now(UTC)
    statuses, status_w = [s for s, _ in _STATUSES], [w for _, w in _STATUSES]
    severities, severity_w = [s for s, _ in _SEVERITIES], [w for _, w in _SEVERITIES]
    for i in range(n):
        created = now - timedelta(days=365) + timedelta(seconds=i * 31_536_000 / n)
        rule, uscc = rng.choice(RULE_IDS), rng.choice(usccs)
        alert_id = str(ULID.from_datetime(created))
        stamp = created.isoformat().replace("+00:00", "Z")
        evidence = {"source": "tax", "type": "tax.arrears", "time": stamp, "fact": "欠缴税款"}
        doc = {
            "alert_id": alert_id,
            "fingerprint": f"{rule}:enterprise:{uscc}",
            "rule_id": rule,
            "rule_version": 1,
            "severity": rng.choices(severities, severity_w)[0],
            "subject": {"kind": "enterprise", "id": uscc},
            "enterprises": [uscc],
            "title": "基准测试告警",
            "explanation": "基准测试告警：欠缴税款300,000元，逾期90天",
            "evidence": [{**evidence, "event_id": f"ev-{i}-{k}"} for k in range(2)],
            "departments": departments_for(rule),
            "event_time": stamp,
            "created_at": stamp,
            "status": rng.choices(statuses, status_w)[0],
            "updated_at": stamp,
        }
        yield alert_id, orjson.dumps(doc)


def load(client: redis_sync.Redis, n: int, console: Console, *, reload: bool) -> None:
    """Store ``n`` alerts as un-indexed documents (unless the database has them), then
    index them with the backfill (unless they are)."""
    if client.dbsize() and not client.exists(OURS):
        raise SystemExit("the benchmark's Redis database holds someone else's data")
    if reload or client.hlen(DOC_KEY) != n:
        _store(client, n, console)
    if client.zcard(department_key(ALL_DEPARTMENTS)) != n:
        started = time.monotonic()
        asyncio.run(_reindex(client.connection_pool.connection_kwargs, n, console))
        took = time.monotonic() - started
        console.print(f"backfilled the indices in {took:.1f}s ({n / took:,.0f} alerts/s)")


def _store(client: redis_sync.Redis, n: int, console: Console) -> None:
    client.flushdb()
    client.set(OURS, 1)
    started = time.monotonic()
    with Progress(console=console) as progress:
        task = progress.add_task("storing alerts", total=n)
        pipe = client.pipeline(transaction=False)
        for i, (alert_id, doc) in enumerate(synthetic_alerts(n), 1):
            pipe.hset(DOC_KEY, alert_id, doc)
            pipe.hset(REV_KEY, alert_id, 1)
            if i % _LOAD_CHUNK == 0 or i == n:
                pipe.execute()
                progress.advance(task, _LOAD_CHUNK if i % _LOAD_CHUNK == 0 else i % _LOAD_CHUNK)
    stored = time.monotonic() - started
    console.print(f"stored {n:,} alerts in {stored:.1f}s ({n / stored:,.0f}/s)")


async def _reindex(kwargs: dict[str, Any], n: int, console: Console) -> None:
    redis = Redis(host=kwargs["host"], port=kwargs["port"], db=kwargs["db"])
    try:
        with Progress(console=console) as progress:
            task = progress.add_task("indexing", total=n)
            async for done in reindex(redis):
                progress.advance(task, done)
    finally:
        await redis.aclose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tokens(url: str) -> dict[str, str]:
    from api.accounts import Accounts, Role

    async def make() -> dict[str, str]:
        redis = redis_client(url)
        try:
            accounts = Accounts(redis)
            _, samr = await accounts.create(name="基准", department="samr", role=Role.DUTY_OFFICER)
            _, oversight = await accounts.create(
                name="基准", department="qianhai-authority", role=Role.ADMIN
            )
        finally:
            await redis.aclose()
        return {"samr": samr, "oversight": oversight}

    return asyncio.run(make())


def _queries(client: redis_sync.Redis) -> list[tuple[str, str, dict[str, str]]]:
    some: Any = client.hrandfield(DOC_KEY)
    doc: Any = client.hget(DOC_KEY, some)
    uscc = orjson.loads(doc)["enterprises"][0]
    recent = (datetime.now(UTC) - timedelta(days=7)).isoformat()
    old = (datetime.now(UTC) - timedelta(days=300)).isoformat()
    return [
        ("limit50", "samr", {"limit": "50"}),
        ("oversight limit50", "oversight", {"limit": "50"}),
        ("status=open", "samr", {"limit": "50", "status": "open"}),
        ("rule+status", "samr", {"limit": "50", "rule_id": "shell_company", "status": "open"}),
        ("severity=critical", "samr", {"limit": "50", "severity": "critical"}),
        ("uscc", "oversight", {"limit": "50", "uscc": uscc}),
        ("since 7 days", "samr", {"limit": "50", "since": recent}),
        ("status+severity", "samr", {"limit": "50", "status": "dismissed", "severity": "info"}),
        ("until 300 days ago", "samr", {"limit": "50", "until": old}),
    ]


@dataclass(frozen=True, slots=True)
class Timed:
    p50_ms: float
    p99_ms: float
    items: int  # per page, on average
    api_cpu_ms: float  # the API process's CPU per request
    redis_cpu_ms: float  # Redis's CPU per request (all of it: nothing else should run)

    def line(self, name: str) -> str:
        return (
            f"{name:<20} p50={self.p50_ms:6.1f} ms  p99={self.p99_ms:6.1f} ms  "
            f"cpu/request: api {self.api_cpu_ms:5.2f} ms, redis {self.redis_cpu_ms:5.2f} ms  "
            f"items/page={self.items}"
        )


def _cpu_s(pid: int, client: redis_sync.Redis) -> tuple[float, float]:
    """CPU seconds used so far by process ``pid`` and by the Redis server."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    api = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    info: Any = client.info("cpu")
    return api, float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _time(
    c: httpx.Client,
    params: dict[str, str],
    requests: int,
    cpu: Callable[[], tuple[float, float]],
    path: str = "/api/v1/alerts",
) -> Timed:
    """``requests`` timed GETs after 20 untimed ones, with the CPU they cost."""
    timings, items = [], 0
    for _ in range(20):
        c.get(path, params=params).raise_for_status()
    before = cpu()
    for _ in range(requests):
        started = time.perf_counter()
        reply = c.get(path, params=params)
        timings.append((time.perf_counter() - started) * 1000)
        reply.raise_for_status()
        items += len(reply.json().get("items", ()))
    after = cpu()
    api, redis_ = ((a - b) * 1000 / requests for a, b in zip(after, before, strict=True))
    p50, p99 = percentile(timings, 50), percentile(timings, 99)
    return Timed(p50, p99, items // requests, api, redis_)


def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the API exited at start")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the API did not answer within 60s")


def run_bench_api(settings: Settings, *, alerts: int, requests: int, reload: bool) -> int:
    console = Console(width=140)
    url = with_redis_db(settings.redis_url, BENCH_API_REDIS_DB)
    client = sync_client(url)
    load(client, alerts, console, reload=reload)
    info: Any = client.info("memory")
    console.print(
        f"Redis db {BENCH_API_REDIS_DB}: {alerts:,} alerts, used_memory {info['used_memory_human']}"
    )
    tokens, port = _tokens(url), _free_port()
    env = {**os.environ, "RISKWIRE_REDIS_URL": url, "RISKWIRE_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "cli", "api", "--port", str(port)], env=env)
    base, plain = f"http://127.0.0.1:{port}", (0.0, 0.0)
    try:
        _wait_ready(base, proc)
        cpu = functools.partial(_cpu_s, proc.pid, client)
        with httpx.Client(base_url=base, timeout=30) as c:
            console.print(_time(c, {}, requests, cpu, "/healthz").line("GET /healthz (floor)"))
        for name, who, params in _queries(client):
            headers = {"Authorization": f"Bearer {tokens[who]}"}
            with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
                timed = _time(c, params, requests, cpu)
            console.print(timed.line(name))
            if name == "limit50":
                plain = (timed.p50_ms, timed.p99_ms)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"alerts={alerts} list_limit50_p50_ms={plain[0]:.1f} list_limit50_p99_ms={plain[1]:.1f}")
    return 0
