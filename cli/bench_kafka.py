"""The bench's own resources and its Kafka side: settings for topics, a consumer group and a
Redis database of the run's own (deleted at the end), producing the mix, the raw consume
ceiling of a bare consumer, and a topic's size."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from kafka.admin import KafkaAdminClient
from rich.progress import Progress

from cli.bench_figures import console
from cli.bench_mix import BenchMessage
from core.redis_client import is_cluster_url
from core.settings import Settings
from streams.kafka import all_topics, ensure_topics, input_topic

ROOT = Path(__file__).resolve().parents[1]
BENCH_REDIS_DB = 14
POLL_S = 0.05
STALL_TIMEOUT_S = 60.0


# -- isolated resources -----------------------------------------------------------------


def with_redis_db(url: str, db: int) -> str:
    """``url`` pointing at database ``db`` (a cluster has only one: its URL is kept, and
    the bench empties the whole cluster).

    >>> with_redis_db("redis://:pw@127.0.0.1:6379/0?x=1", 14)
    'redis://:pw@127.0.0.1:6379/14?x=1'
    >>> with_redis_db("redis+cluster://127.0.0.1:7000,127.0.0.1:7001", 14)
    'redis+cluster://127.0.0.1:7000,127.0.0.1:7001'
    """
    if is_cluster_url(url):
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


def bench_settings(settings: Settings, run_id: str, state_dir: Path) -> Settings:
    """The run's own topics (``bench-<run_id>.`` prefix), consumer group, Redis database and
    faust data directory."""
    prefix = f"bench-{run_id}."
    extra = {"state_dir": state_dir} if "state_dir" in Settings.model_fields else {}
    return settings.model_copy(
        update={
            **extra,
            "app_id": f"riskwire-bench-{run_id}",
            "redis_url": with_redis_db(settings.redis_url, BENCH_REDIS_DB),
            "worker_metrics_port": 0,
            "log_level": "WARNING",
            **{
                name: prefix + getattr(settings, name)
                for name in (
                    "topic_registration",
                    "topic_court",
                    "topic_tax",
                    "topic_enforcement",
                    "topic_alerts",
                    "topic_grades",
                    "topic_dlq",
                    "topic_dlq_outputs",
                )
            },
        }
    )


def admin_client(settings: Settings) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=30_000)


def create_topics(settings: Settings) -> None:
    """Create the run's topics and wait until every partition has a leader (producing
    right after creation would time NotLeaderForPartition retries)."""
    ensure_topics(settings)
    admin = admin_client(settings)
    try:
        admin.wait_for_topics(list(all_topics(settings)), timeout_ms=30_000)
    finally:
        admin.close()


def cleanup(settings: Settings, groups: Sequence[str]) -> None:
    """Delete the run's topics (faust's internal ones too) and consumer groups, best effort."""
    try:
        admin = admin_client(settings)
    except Exception as exc:
        console.print(f"[yellow]cleanup skipped: {exc}")
        return
    try:
        ours = set(all_topics(settings))
        topics = [t for t in admin.list_topics() if t in ours or t.startswith(settings.app_id)]
        if topics:
            admin.delete_topics(topics, raise_errors=False)
        admin.delete_groups(list(groups))
    except Exception as exc:
        console.print(f"[yellow]cleanup incomplete: {exc}")
    finally:
        admin.close()


# -- phase 2: produce, then the raw consume ceiling ------------------------------------


async def produce(settings: Settings, messages: Sequence[BenchMessage]) -> float:
    """Produce every message keyed by subject (acks=all, 5 ms linger, 256 KiB batches);
    answers messages/s from the first send to the last ack."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    topics = {m.etype: input_topic(settings, m.etype) for m in messages}
    try:
        for topic in set(topics.values()):
            await producer.partitions_for(topic)  # metadata before the clock starts
        with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
            task = bar.add_task("producing", total=len(messages))
            started = time.perf_counter()
            deliveries: list[asyncio.Future[Any]] = []
            for i, m in enumerate(messages, 1):
                deliveries.append(await producer.send(topics[m.etype], m.value, key=m.key))
                if i % 2000 == 0:
                    bar.update(task, completed=i)
            await asyncio.gather(*deliveries)
            elapsed = time.perf_counter() - started
    finally:
        await producer.stop()
    return len(messages) / elapsed


class _Assigned(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.at: float | None = None

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if assigned and self.at is None:
            self.at = time.perf_counter()


async def raw_consume(settings: Settings, n: int, group: str) -> float:
    """How fast a bare consumer of its own group reads ``n`` messages, timed from its
    partition assignment to the last one."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    listener = _Assigned()
    consumer.subscribe(list(settings.input_topics), listener=listener)
    await consumer.start()
    seen = 0
    try:
        deadline = time.monotonic() + STALL_TIMEOUT_S
        while seen < n:
            batches = await consumer.getmany(timeout_ms=500, max_records=20_000)
            got = sum(len(records) for records in batches.values())
            seen += got
            if got:
                deadline = time.monotonic() + STALL_TIMEOUT_S
            elif time.monotonic() > deadline:
                raise BenchError(f"raw consumer stalled at {seen}/{n} messages")
        done = time.perf_counter()
    finally:
        await consumer.stop()
    assert listener.at is not None
    return n / (done - listener.at)


class BenchError(RuntimeError):
    """The run cannot go on (a stall, a dead worker, missing alerts)."""


def partitions_of(settings: Settings, topic: str) -> list[TopicPartition]:
    """The bench created ``topic`` itself, with ``settings.partitions`` partitions."""
    return [TopicPartition(topic, p) for p in range(settings.partitions)]


async def topic_size(settings: Settings, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        tps = partitions_of(settings, topic)
        ends = await consumer.end_offsets(tps)
        starts = await consumer.beginning_offsets(tps)
        return sum(ends[tp] - starts[tp] for tp in tps)
    finally:
        await consumer.stop()
