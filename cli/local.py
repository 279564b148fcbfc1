"""``riskwire run``: a worker and the API as child processes on this machine, the demo
feed, and a duty officer's token, for a first look. Ctrl-C stops both children."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from cli.accounts import token_in_child
from cli.process import terminate
from core.settings import Settings

READY_TIMEOUT_S = 120


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "cli", *args], env=env, stdout=out, stderr=subprocess.STDOUT
    )


def run_local(settings: Settings) -> int:
    host = "localhost" if settings.api_host in ("127.0.0.1", "0.0.0.0") else settings.api_host
    base = f"http://{host}:{settings.api_port}"
    logs = Path(os.environ.get("RISKWIRE_LOG_DIR", "build/logs"))
    logs.mkdir(parents=True, exist_ok=True)
    metrics_dir = Path(tempfile.mkdtemp(prefix="riskwire-metrics-"))
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    children = [
        _spawn(["worker"], env, logs / "worker.log"),
        _spawn(["api"], env, logs / "api.log"),
    ]
    try:
        print(f"starting the worker and the API (logs in {logs}/) ...", flush=True)
        if not _wait_ready(base, children):
            names = ("worker", "api")
            exited = [n for n, c in zip(names, children, strict=True) if c.poll() is not None]
            why = f"{' and '.join(exited)} exited" if exited else f"not ready in {READY_TIMEOUT_S}s"
            print(f"riskwire did not start ({why}): see {logs}/worker.log and {logs}/api.log")
            return 1
        _print_welcome(base, settings, _play_demo(env))
        while all(child.poll() is None for child in children):
            time.sleep(1)
        print("a child process stopped; see the logs", flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        terminate(children, grace_s=20)
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _play_demo(env: dict[str, str]) -> str:
    """Play the demo feed and create a duty officer's account; answers its token."""
    subprocess.run([sys.executable, "-m", "cli", "demo"], env=env, check=True)
    return token_in_child(
        env, department="qianhai-authority", role="duty_officer", name="demo duty officer"
    )


def _print_welcome(base: str, settings: Settings, token: str) -> None:
    ws = base.replace("http", "ws", 1)
    print(
        "\nriskwire is running.\n"
        f"  board      {base}/            (sign in with the token below)\n"
        f"  live feed  {ws}/ws/alerts?ticket=…  (ticket from POST {base}/api/v1/ws-tickets)\n"
        f"  API docs   {base}/docs\n"
        f"  metrics    {base}/metrics  (the API's; the worker's on port "
        f"{settings.worker_metrics_port})\n"
        f"  Prometheus http://localhost:{os.environ.get('RISKWIRE_PROMETHEUS_PORT', '9090')}"
        "  (`make observe`; dashboards: deploy/grafana/)\n"
        f"  token      {token}\n"
        "Ctrl-C stops the worker and the API.",
        flush=True,
    )


def _wait_ready(base: str, children: list[subprocess.Popen[bytes]]) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            return False
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(1)
    return False
