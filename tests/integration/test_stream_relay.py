"""The stream relay (alerts and grades to Kafka) publishes each entry at least once and
survives its stream being deleted under a blocked read (a flushed or restarted Redis)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import pytest
from aiokafka.errors import KafkaConnectionError
from redis.asyncio import Redis

from core.redis_client import redis_client
from core.settings import Settings
from streams.relay import Entry, Message, StreamRelay

pytestmark = [pytest.mark.redis]


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Message] = []

    async def publish(self, messages: Sequence[Message]) -> None:
        self.sent += messages


class EchoRelay(StreamRelay):
    async def messages(self, entries: Sequence[Entry]) -> list[Message]:
        return [("topic", None, fields[b"v"]) for _, fields in entries]


async def _until(predicate: Callable[[], bool], seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {seconds} s")


@asynccontextmanager
async def running(
    settings: Settings, broker: Recorder, *, claim_idle_ms: int
) -> AsyncIterator[tuple[Redis, str, asyncio.Task[None]]]:
    """An :class:`EchoRelay` of a stream of its own into ``broker``, running until the block
    ends: its Redis client, its stream and its task; then the stream is deleted."""
    redis = redis_client(settings.redis_url)
    stream = f"rw:test-relay:{uuid.uuid4().hex[:8]}"
    relay = EchoRelay(
        redis,
        broker,
        stream=stream,
        group="g",
        consumer="c",
        block_ms=200,
        claim_idle_ms=claim_idle_ms,
    )
    stopping = asyncio.Event()
    task = asyncio.create_task(relay.run(stopping))
    try:
        yield redis, stream, task
    finally:
        stopping.set()
        await asyncio.wait_for(task, timeout=5)
        await redis.delete(stream)
        await redis.aclose()


async def test_the_relay_survives_its_stream_being_deleted(settings: Settings) -> None:
    recorder = Recorder()
    async with running(settings, recorder, claim_idle_ms=1000) as (redis, stream, task):
        await redis.xadd(stream, {"v": b"1"})
        await _until(lambda: [m[2] for m in recorder.sent] == [b"1"])
        await redis.delete(stream)  # a blocked XREADGROUP answers UNBLOCKED / NOGROUP
        await asyncio.sleep(0.5)
        await redis.xadd(stream, {"v": b"2"})
        await _until(lambda: [m[2] for m in recorder.sent] == [b"1", b"2"])
        assert not task.done(), "the relay stopped"


class AwayOnce(Recorder):
    """A broker that is away for the first send, then back."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = 0

    async def publish(self, messages: Sequence[Message]) -> None:
        if not self.failed:
            self.failed += 1
            raise KafkaConnectionError()
        await super().publish(messages)


async def test_the_relay_retries_entries_the_broker_could_not_take(settings: Settings) -> None:
    broker = AwayOnce()
    async with running(settings, broker, claim_idle_ms=500) as (redis, stream, task):
        await redis.xadd(stream, {"v": b"1"})
        await _until(lambda: [m[2] for m in broker.sent] == [b"1"])
        assert broker.failed == 1
        assert not task.done(), "the relay stopped"
