"""Starting the API's Kafka producers (uploads, audit anchors): idempotent, ``acks=all``,
and never left half-started when the broker does not answer in time."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiokafka import AIOKafkaProducer


async def start_producer(bootstrap: str, *, timeout_s: float, **options: Any) -> AIOKafkaProducer:
    """A started producer, or the error (the producer stopped) after ``timeout_s``."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, **options
    )
    try:
        await asyncio.wait_for(producer.start(), timeout=timeout_s)
    except BaseException:
        with contextlib.suppress(Exception):
            await producer.stop()
        raise
    return producer
