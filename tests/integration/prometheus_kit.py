"""A real Prometheus started by the test session, scraping the test's API and workers
with riskwire's rule files (Debian's ``prometheus``; ``deploy/observe.sh install``).
Locally a missing binary skips; with ``CI=true`` it fails."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from cli.prometheus import RULES_DIR, PrometheusAPI, render_config

from .conftest import _unavailable, free_port


@contextmanager
def running_prometheus(
    workdir: Path, *, api: list[str], workers: list[str], interval: str = "1s"
) -> Iterator[PrometheusAPI]:
    binary = shutil.which("prometheus")
    if binary is None:
        _unavailable("prometheus is not installed (bash deploy/observe.sh install)")
    assert binary is not None
    config = workdir / "prometheus.yml"
    config.write_text(
        render_config(rules_dir=RULES_DIR, api=api, workers=workers, interval=interval)
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (workdir / "prometheus.log").open("ab") as log:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    "Prometheus did not start:\n" + (workdir / "prometheus.log").read_text()
                )
            time.sleep(0.3)
        client = PrometheusAPI(base)
        try:
            yield client
        finally:
            client.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
