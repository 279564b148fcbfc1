"""The alert relay: every alert change from the Redis feed to Kafka, at least once (see
:mod:`streams.relay`). Consumers keep the highest ``revision`` per ``alert_id``, so a
republished entry is harmless."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Unpack

import orjson
from redis.asyncio import Redis

from alerts import feed_codec
from alerts.routing import receivers_of
from alerts.store import FEED_KEY
from alerts.subscriptions import SubscriptionCache
from core.telemetry import ALERTS_PUBLISHED, EVENT_TO_ALERT_SECONDS
from streams.relay import KAFKA_GROUP, Entry, FeedOptions, FeedRelay, Message, Publisher

GROUP = KAFKA_GROUP


class AlertRelay(FeedRelay):
    """Publishes each alert change to ``riskwire.alerts`` and to the department topics of
    its owners that receive it after their subscriptions (key: the fingerprint), and to
    the compacted archive topic (key: the alert id, so compaction keeps every alert's
    latest revision, where a fingerprint key would keep only its newest alert)."""

    name = "relay"
    feed = FEED_KEY

    def __init__(
        self,
        redis: Redis,
        publisher: Publisher,
        *,
        subscriptions: SubscriptionCache | None = None,
        archive_topic: str | None = None,
        **options: Unpack[FeedOptions],
    ) -> None:
        super().__init__(redis, publisher, **options)
        self._subscriptions = subscriptions
        self._archive_topic = archive_topic

    async def messages(self, entries: Sequence[Entry]) -> list[Message]:
        messages: list[Message] = []
        subs = await self._subscriptions.current() if self._subscriptions else {}
        for _, fields in entries:
            value = feed_codec.decode(fields[b"alert"])
            alert = orjson.loads(value)
            key = alert["fingerprint"].encode()
            messages.append((self._topic, key, value))
            # Each owner department gets it on its topic unless its subscriptions filter it out.
            owners = receivers_of(value, alert.get("departments", []), subs)
            messages += [(f"{self._topic}.{d}", key, value) for d in owners]
            if self._archive_topic:
                messages.append((self._archive_topic, alert["alert_id"].encode(), value))
        return messages

    def handled(self, entries: Sequence[Entry]) -> None:
        """After the broker has the entries' messages: their latency and count."""
        now_ms = time.time() * 1000
        for _, fields in entries:
            received = int(fields.get(b"received_ms", b"0"))
            if received > 0:
                EVENT_TO_ALERT_SECONDS.observe(max(0.0, now_ms - received) / 1000)
        ALERTS_PUBLISHED.labels("all").inc(len(entries))
