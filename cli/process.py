"""What every ``riskwire`` command's process sets up first (its settings and logs, and whose
metrics it writes), the environment that rebuilds its settings in a child process, a Redis
client for one piece of work, and stopping the children it started."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from core.settings import Settings

if TYPE_CHECKING:
    from redis.asyncio import Redis

T = TypeVar("T")


def command_settings() -> Settings:
    """The settings from the environment, with the logs configured by them."""
    from core.telemetry import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def own_metrics_only() -> None:
    """A worker serves its own samples on its own port; written into a multiprocess
    directory the API serves too, they would be counted twice. Dropped before the first
    metric exists (prometheus_client reads it once, on import)."""
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)


def settings_env(settings: Settings) -> dict[str, str]:
    """The ``RISKWIRE_*`` environment that rebuilds ``settings`` in a child process."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        elif isinstance(value, tuple | list):
            value = json.dumps(list(value))
        env[f"RISKWIRE_{name.upper()}"] = str(value)
    return env


def terminate(children: Sequence[subprocess.Popen[bytes]], grace_s: float) -> None:
    """SIGTERM to the children still running; one that has not exited after ``grace_s`` is
    killed."""
    running = [child for child in children if child.poll() is None]
    for child in running:
        child.terminate()
    for child in running:
        try:
            child.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=10)


def with_redis(settings: Settings, work: Callable[[Redis], Awaitable[T]]) -> T:
    """Run ``work`` on a Redis client of ``settings`` (single server or cluster), closed
    after it."""

    from core.redis_client import redis_client  # not at import: see own_metrics_only

    async def run() -> T:
        redis = redis_client(settings.redis_url)
        try:
            return await work(redis)
        finally:
            await redis.aclose()

    return asyncio.run(run())
