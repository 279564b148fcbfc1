"""Producing to and reading from the session's real topics, for the tests that play a
feed through a running worker (the hostile feed, the worker's resilience)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.consumer.fetcher import ConsumerRecord

from core.redis_client import sync_client
from core.settings import Settings
from processors.profiles.redis import doc_key
from streams.kafka import department_producer, produce_events
from streams.profile_store import EntityRef


def fresh_topic(settings: Settings, name: str) -> str:
    """A new topic of its own (one partition), for a test that must not write to the
    session's topics that other tests read whole."""
    topic = f"{name}.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 1, settings.replication_factor)])
    finally:
        admin.close()
    return topic


def produce(settings: Settings, events: Sequence[dict[str, Any]]) -> None:
    producer = department_producer(settings)
    for _ in produce_events(producer, settings, events):
        pass
    producer.close()


def produce_raw(settings: Settings, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> None:
    """Send ``(key, value)`` pairs in order to ``topic`` and wait for the broker's acks."""
    producer = department_producer(settings)
    for key, value in messages:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


def read_topic(
    settings: Settings,
    topic: str,
    until: Callable[[list[ConsumerRecord]], bool],
    timeout: float = 30,
    idle_ms: int = 500,
) -> list[ConsumerRecord]:
    """Every message of ``topic`` from the start, read until ``until(seen)`` holds; it is
    tried each time the topic has been quiet for ``idle_ms``."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=idle_ms,
        enable_auto_commit=False,
        fetch_max_bytes=8 * 1024 * 1024,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    seen: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            seen.extend(consumer)
            if until(seen):
                return seen
    finally:
        consumer.close()
    raise AssertionError(f"{topic}: condition not met in {timeout}s ({len(seen)} messages)")


def profile_key(uscc: str) -> str:
    return doc_key(EntityRef("ent", uscc))


def wait_for_profiles(settings: Settings, usccs: Sequence[str], timeout: float = 30) -> list[str]:
    """The usccs of ``usccs`` that still have no profile after ``timeout`` seconds."""
    client = sync_client(settings.redis_url)
    missing = list(usccs)
    deadline = time.monotonic() + timeout
    while missing and time.monotonic() < deadline:
        missing = [u for u in missing if not client.hexists(profile_key(u), "doc")]
        if missing:
            time.sleep(0.2)
    client.close()
    return missing


class AioPublisher:
    """What the worker's ``FaustPublisher`` does, on a plain aiokafka producer: send the
    messages and wait for the broker's acks (the producer's own size limit applies)."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")

    async def publish(self, messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        pending = [await self.producer.send(t, value, key=key) for t, key, value in messages]
        await asyncio.gather(*pending)
