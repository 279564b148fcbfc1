"""Redis command latency (``riskwire_redis_command_seconds``): every command a riskwire
client sends, and every pipeline as one round trip, timed where it is awaited; and counted
(:mod:`core.round_trips`) inside a batch.

Blocking reads (``XREAD``/``XREADGROUP`` with ``BLOCK``) wait for data by design and are
left out. The label is the command's name, from the fixed set riskwire's code sends; a
pipeline is ``pipeline`` (``multi`` when transactional). A histogram child is looked up
once per name and kept.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client.metrics import Histogram
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from core.round_trips import round_trip_ended, round_trip_started
from core.telemetry import REDIS_COMMAND_SECONDS

_BLOCKING = frozenset({"XREAD", "XREADGROUP"})
_children: dict[str, Histogram] = {}


def _histogram(name: str) -> Histogram:
    child = _children.get(name)
    if child is None:
        child = _children[name] = REDIS_COMMAND_SECONDS.labels(name)
    return child


def _name(first: Any) -> str:
    text = first.decode() if isinstance(first, bytes) else str(first)
    return text.split(" ", 1)[0].upper()


def observe(args: tuple[Any, ...], started: float) -> None:
    """Record one command (``args`` as sent) that started at ``started`` (perf_counter);
    a blocking read is left out."""
    name = _name(args[0])
    if name in _BLOCKING and ("BLOCK" in args or b"BLOCK" in args):
        return
    _histogram(name).observe(time.perf_counter() - started)


class TimedPipeline(Pipeline):
    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        # an empty pipeline sends nothing
        started, trip = time.perf_counter(), round_trip_started() if self.command_stack else None
        try:
            return await super().execute(raise_on_error)
        finally:
            round_trip_ended(trip)
            _histogram("multi" if self.is_transaction else "pipeline").observe(
                time.perf_counter() - started
            )


class TimedRedis(Redis):
    """A Redis client that times its commands and pipelines."""

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        started, trip = time.perf_counter(), round_trip_started()
        try:
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        finally:
            round_trip_ended(trip)
            observe(args, started)

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        return TimedPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)
