"""The relay: publishes every alert change from the Redis feed to Kafka, at least once.

Workers share one Redis consumer group on the feed, so each entry is published by one of
them; an entry is acknowledged only after the broker has it, and entries a dead worker left
pending are claimed by the others after ``claim_idle_ms``. Consumers keep the highest
``revision`` per ``alert_id``, so a republished entry is harmless.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any, Protocol

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from alerts.routing import receivers_of
from alerts.store import FEED_KEY
from alerts.subscriptions import SubscriptionCache
from core.errors import StoreError
from core.telemetry import ALERTS_PUBLISHED, EVENT_TO_ALERT_SECONDS, REDIS_ERRORS, get_logger

GROUP = "kafka-relay"
log = get_logger(__name__)


class Publisher(Protocol):
    async def publish(self, messages: Sequence[tuple[str, bytes | None, bytes]]) -> None: ...


class AlertRelay:
    def __init__(
        self,
        redis: Redis,
        publisher: Publisher,
        *,
        topic: str,
        consumer: str,
        batch: int = 500,
        block_ms: int = 1000,
        claim_idle_ms: int = 30_000,
        subscriptions: SubscriptionCache | None = None,
    ) -> None:
        self._redis = redis
        self._publisher = publisher
        self._topic = topic
        self._consumer = consumer
        self._batch = batch
        self._block_ms = block_ms
        self._claim_idle_ms = claim_idle_ms
        self._subscriptions = subscriptions

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(FEED_KEY, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self, stopping: asyncio.Event) -> None:
        await self.ensure_group()
        while not stopping.is_set():
            try:
                await self.step()
            except ResponseError as exc:
                # NOGROUP / UNBLOCKED: the feed or its group is gone (Redis restarted without
                # its data, or the key was deleted). Recreate the group and go on.
                REDIS_ERRORS.labels("relay").inc()
                log.warning("relay read refused, recreating its group", error=str(exc))
                await asyncio.sleep(0.5)
                await self.ensure_group()
            except (RedisError, StoreError) as exc:
                REDIS_ERRORS.labels("relay").inc()
                log.warning("relay step failed", error=str(exc))
                await asyncio.sleep(1)

    async def step(self) -> int:
        """Publish one batch: entries this consumer or a dead one left pending, else new ones."""
        entries = await self._claim()
        if not entries:
            reply: Any = await self._redis.xreadgroup(
                GROUP, self._consumer, {FEED_KEY: ">"}, count=self._batch, block=self._block_ms
            )
            entries = reply[0][1] if reply else []
        if not entries:
            return 0
        await self._publish(entries)
        await self._redis.xack(FEED_KEY, GROUP, *[entry_id for entry_id, _ in entries])
        return len(entries)

    async def _claim(self) -> list[Any]:
        reply: Any = await self._redis.xautoclaim(
            FEED_KEY, GROUP, self._consumer, min_idle_time=self._claim_idle_ms, count=self._batch
        )
        return [e for e in reply[1] if e[1]]

    async def _publish(self, entries: Sequence[Any]) -> None:
        messages: list[tuple[str, bytes | None, bytes]] = []
        received: list[int] = []
        subs = await self._subscriptions.current() if self._subscriptions else {}
        for _, fields in entries:
            value: bytes = fields[b"alert"]
            alert = orjson.loads(value)
            key = alert["fingerprint"].encode()
            messages.append((self._topic, key, value))
            # Each owner department gets it on its topic unless its subscriptions filter it out.
            owners = receivers_of(value, alert.get("departments", []), subs)
            messages += [(f"{self._topic}.{d}", key, value) for d in owners]
            received.append(int(fields.get(b"received_ms", b"0")))
        await self._publisher.publish(messages)
        now_ms = time.time() * 1000
        for ms in received:
            if ms > 0:
                EVENT_TO_ALERT_SECONDS.observe(max(0.0, now_ms - ms) / 1000)
        ALERTS_PUBLISHED.labels("all").inc(len(entries))
