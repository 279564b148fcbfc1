"""The gauges a worker reads from Redis: a relay's backlog counts what is neither delivered
nor acknowledged; the webhook queue's depth and oldest due age per department; source
freshness kept in Redis, so another worker (or a restarted one) reports the newest time
any worker saw."""

from __future__ import annotations

import uuid

import pytest
from redis.asyncio import Redis

from alerts.notify.wiring import NotifyStores
from core.clock import FakeClock
from core.settings import Settings
from core.telemetry import (
    RELAY_BACKLOG,
    SOURCE_LAST_EVENT,
    WEBHOOK_OLDEST_DUE,
    WEBHOOK_QUEUE_DEPTH,
)
from processors.freshness import SOURCES_KEY, SourceFreshness
from processors.gauges import measure_relays, measure_webhooks, relay_backlog

from ..unit.test_deliveries import queued
from .test_webhooks_queue import AT, wipe

pytestmark = [pytest.mark.redis]


async def test_relay_backlog_counts_undelivered_and_unacknowledged(redis: Redis) -> None:
    stream, group = f"obs-test-{uuid.uuid4().hex[:8]}", "kafka-relay"
    assert await relay_backlog(redis, stream, group) == 0  # no stream yet
    ids = [await redis.xadd(stream, {"alert": b"{}"}) for _ in range(5)]
    await redis.xgroup_create(stream, group, id="0")
    try:
        assert await relay_backlog(redis, stream, group) == 5
        await redis.xreadgroup(group, "w1", {stream: ">"}, count=2)  # delivered, not acked
        assert await relay_backlog(redis, stream, group) == 5
        await redis.xack(stream, group, *ids[:2])  # on Kafka
        assert await relay_backlog(redis, stream, group) == 3
        await measure_relays(redis, {"alerts": (stream, group)})
        assert RELAY_BACKLOG.labels("alerts")._value.get() == 3
        # Trimmed entries leave Redis unable to say the lag: counted from the stream.
        await redis.xdel(stream, ids[3])
        assert await relay_backlog(redis, stream, group) == 2
    finally:
        await redis.delete(stream)


async def test_webhook_queue_per_department(redis: Redis, settings: Settings) -> None:
    ns = f"wh-test-{uuid.uuid4().hex[:8]}"
    clock = FakeClock(AT)
    stores = NotifyStores.build(redis, settings, clock, queue_namespace=ns)
    tax, samr = f"tax-{ns}", f"samr-{ns}"
    ep_tax = await stores.endpoints.create(tax, "https://tax.example/hook")
    ep_samr = await stores.endpoints.create(samr, "https://samr.example/hook")
    now_ms = 1_772_352_000_000
    try:
        await stores.queue.enqueue([queued(ep_tax.id, n) for n in range(3)], now_ms=now_ms)
        await measure_webhooks(stores, [tax, samr], now_ms + 90_000)
        assert WEBHOOK_QUEUE_DEPTH.labels(tax)._value.get() == 3
        assert WEBHOOK_OLDEST_DUE.labels(tax)._value.get() == 90.0
        assert WEBHOOK_QUEUE_DEPTH.labels(samr)._value.get() == 0
        assert WEBHOOK_OLDEST_DUE.labels(samr)._value.get() == 0
    finally:
        for department, ep in ((tax, ep_tax), (samr, ep_samr)):
            await stores.endpoints.delete(department, ep.id)
        await wipe(redis, ns)


async def test_source_freshness_is_shared_through_redis(redis: Redis) -> None:
    topic = f"obs-{uuid.uuid4().hex[:8]}.tax.events"
    departments, expected = ["tax", "samr"], {"tax": 600.0, "samr": 600.0}
    first = SourceFreshness(redis, departments, expected)
    second = SourceFreshness(redis, departments, expected)
    try:
        first.note({(topic, "tax/levy"): (2_000_000, 3), (topic, "unknown"): (1_000, 1)})
        await first.flush()
        assert SOURCE_LAST_EVENT.labels(topic, "tax")._value.get() == 2_000.0
        assert SOURCE_LAST_EVENT.labels(topic, "other")._value.get() == 1.0
        second.note({(topic, "/tax/levy"): (1_500_000, 1)})  # older: Redis keeps the newest
        SOURCE_LAST_EVENT.labels(topic, "tax").set(0)
        await second.flush()
        assert SOURCE_LAST_EVENT.labels(topic, "tax")._value.get() == 2_000.0
        restarted = SourceFreshness(redis, departments, expected)
        SOURCE_LAST_EVENT.labels(topic, "tax").set(0)
        await restarted.flush()  # nothing noted yet: the gauge still comes from Redis
        assert SOURCE_LAST_EVENT.labels(topic, "tax")._value.get() == 2_000.0
    finally:
        fields = [f"{topic} tax", f"{topic} other"]
        await redis.hdel(SOURCES_KEY, *fields)
        for department in ("tax", "other"):
            SOURCE_LAST_EVENT.remove(topic, department)
