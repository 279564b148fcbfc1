"""Relaying a Redis stream (an outbox) to Kafka, at least once.

The workers share one Redis consumer group on the stream, so each entry is published by
one of them; an entry is acknowledged only after the broker has it, and entries a dead
worker left pending are claimed by the others after ``claim_idle_ms``. A subclass says
which Kafka messages an entry becomes (:meth:`StreamRelay.messages`); consumers of those
topics must tolerate a republished entry (they keep the latest revision, or the topic is
compacted by key).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from core.errors import StoreError
from core.telemetry import REDIS_ERRORS, get_logger

log = get_logger(__name__)

Message = tuple[str, bytes | None, bytes]  # topic, key, value
Entry = tuple[bytes, dict[bytes, bytes]]  # stream entry id, fields


class Publisher(Protocol):
    async def publish(self, messages: Sequence[Message]) -> None:
        """Send the messages and wait until the broker has them."""
        ...


class StreamRelay(ABC):
    name = "relay"  # a bounded metric label

    def __init__(
        self,
        redis: Redis,
        publisher: Publisher,
        *,
        stream: str,
        group: str,
        consumer: str,
        batch: int = 500,
        block_ms: int = 1000,
        claim_idle_ms: int = 30_000,
    ) -> None:
        self._redis, self._publisher = redis, publisher
        self._stream, self._group, self._consumer = stream, group, consumer
        self._batch, self._block_ms, self._claim_idle_ms = batch, block_ms, claim_idle_ms

    @abstractmethod
    async def messages(self, entries: Sequence[Entry]) -> list[Message]:
        """The Kafka messages these stream entries become."""

    def published(self, entries: Sequence[Entry]) -> None:  # noqa: B027 (an optional hook)
        """Called after the broker has the entries' messages (metrics)."""

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, self._group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self, stopping: asyncio.Event) -> None:
        """Relay until ``stopping``; survives Redis errors and a lost stream or group."""
        await self.ensure_group()
        while not stopping.is_set():
            try:
                await self.step()
            except ResponseError as exc:
                # NOGROUP / UNBLOCKED: the stream or its group is gone (Redis restarted
                # without its data, or the key was deleted). Recreate the group and go on.
                REDIS_ERRORS.labels(self.name).inc()
                log.warning(
                    "relay read refused, recreating its group", relay=self.name, error=str(exc)
                )
                await asyncio.sleep(0.5)
                await self.ensure_group()
            except (RedisError, StoreError) as exc:
                REDIS_ERRORS.labels(self.name).inc()
                log.warning("relay step failed", relay=self.name, error=str(exc))
                await asyncio.sleep(1)

    async def step(self) -> int:
        """Publish one batch: entries this consumer or a dead one left pending, else new ones."""
        claimed: Any = await self._redis.xautoclaim(
            self._stream,
            self._group,
            self._consumer,
            min_idle_time=self._claim_idle_ms,
            count=self._batch,
        )
        entries: list[Entry] = [e for e in claimed[1] if e[1]]
        if not entries:
            reply: Any = await self._redis.xreadgroup(
                self._group,
                self._consumer,
                {self._stream: ">"},
                count=self._batch,
                block=self._block_ms,
            )
            entries = reply[0][1] if reply else []
        if not entries:
            return 0
        await self._publisher.publish(await self.messages(entries))
        await self._redis.xack(self._stream, self._group, *[entry_id for entry_id, _ in entries])
        self.published(entries)
        return len(entries)
