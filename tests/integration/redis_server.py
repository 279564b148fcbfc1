"""A redis-server of a test's own, on a free port, that the test may stop and start again
(the session's Redis is shared by the whole run, so it is never restarted)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis as redis_sync

from core.redis_client import sync_client

from .conftest import IN_CI, free_port


class RedisServer:
    """One redis-server with an append-only file, so a restart keeps its data."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            import pytest

            if IN_CI:
                pytest.fail("redis-server is not on PATH (CI=true: fail instead of skipping)")
            pytest.skip("redis-server is not on PATH")
        self.binary = binary
        self.port = free_port()
        self.dir = workdir
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir"]
        args += [str(self.dir), "--appendonly", "yes", "--appendfsync", "always", "--save", ""]
        with (self.dir / "redis.log").open("ab") as log:
            self.popen = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.answers():
                return self
            time.sleep(0.1)
        raise AssertionError(f"redis-server on {self.port} did not answer within 30 s")

    def answers(self) -> bool:
        try:
            return bool(sync_client(self.url, socket_timeout=1).ping())
        except redis_sync.RedisError:
            return False

    def kill9(self) -> None:
        """A crash: ``kill -9``, so only what the append-only file holds comes back."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=30)
        self.popen = None

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()  # a clean shutdown: the append-only file is complete
            self.popen.wait(timeout=30)
        self.popen = None
