"""The bench's paced latency run: the paced messages produced at a rate while a consumer of
``riskwire.alerts`` waits for each trigger's alert; what was sent and received, when."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.progress import Progress

from cli.bench_figures import console
from cli.bench_kafka import POLL_S, partitions_of
from cli.bench_mix import Paced
from core.settings import Settings
from streams.kafka import input_topic

ALERT_GRACE_S = 10.0


@dataclass(slots=True)
class Latency:
    """Wall-clock (epoch seconds) times of the paced run, per trigger uscc."""

    sent: int
    send_s: float
    triggers: dict[str, float]  # when produced
    received: dict[str, float]  # when its alert arrived from Kafka
    ended_at: float
    written: dict[str, float] = field(default_factory=dict)  # the alert's created_at
    published: dict[str, float] = field(default_factory=dict)  # its Kafka record's timestamp
    warmup: dict[str, float] = field(default_factory=dict)  # triggers sent in the warm-up

    def latencies_ms(self) -> list[float]:
        """Per trigger; a missing alert counts with the lower bound (grace end - produced)."""
        return self._latencies_ms(self.triggers)

    def warmup_ms(self) -> list[float]:
        """The warm-up's triggers, counted as :meth:`latencies_ms` counts the others."""
        return self._latencies_ms(self.warmup)

    def _latencies_ms(self, triggers: dict[str, float]) -> list[float]:
        deadline = self.ended_at + ALERT_GRACE_S
        return [
            (self.received.get(uscc, deadline) - produced) * 1000
            for uscc, produced in triggers.items()
        ]

    @property
    def counted_received(self) -> int:
        return sum(1 for uscc in self.triggers if uscc in self.received)

    def written_ms(self) -> list[float]:
        """Produced to the alert written by the worker (its ``created_at``), for the
        alerts received: the rest of the latency is the relay and the consumer."""
        return self._segment_ms(self.written)

    def published_ms(self) -> list[float]:
        """Produced to the alert sent to ``riskwire.alerts`` by the relay (the record's
        timestamp, taken as the relay sends it): the rest is the broker and the consumer."""
        return self._segment_ms(self.published)

    def _segment_ms(self, reached: dict[str, float]) -> list[float]:
        return [
            (reached[uscc] - self.triggers[uscc]) * 1000
            for uscc in self.received
            if uscc in reached and uscc in self.triggers
        ]


async def _listen(consumer: Any, wanted: set[str], result: Latency) -> None:
    while True:
        batches = await consumer.getmany(timeout_ms=100, max_records=5000)
        now = time.time()
        for records in batches.values():
            for record in records:
                alert = orjson.loads(record.value)
                uscc = alert.get("subject", {}).get("id")
                if alert.get("rule_id") != "tax_arrears" or uscc not in wanted:
                    continue
                if uscc not in result.received:
                    result.received[uscc] = now
                    created = datetime.fromisoformat(alert["created_at"]).timestamp()
                    result.written[uscc] = created
                    result.published[uscc] = record.timestamp / 1000


async def _alerts_consumer(settings: Settings) -> Any:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    await consumer.start()
    try:
        tps = partitions_of(settings, settings.topic_alerts)
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)
    except BaseException:
        await consumer.stop()
        raise
    return consumer


async def paced_run(
    settings: Settings, paced: Sequence[Paced], rate: int, warmup: int = 0
) -> Latency:
    """Produce ``paced`` at ``rate``/s while listening for the triggers' alerts; waits
    up to ``ALERT_GRACE_S`` after the last send for the missing ones. The triggers among
    the first ``warmup`` messages are kept apart (``Latency.warmup``)."""
    wanted = {p.trigger for p in paced if p.trigger}
    consumer = await _alerts_consumer(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5)
    result = Latency(len(paced), 0.0, {}, {}, 0.0)
    listener = asyncio.create_task(_listen(consumer, wanted, result))
    try:
        await producer.start()
        with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
            task = bar.add_task(f"paced at {rate}/s", total=len(paced))
            await _send_paced(
                settings,
                producer,
                paced,
                rate,
                result,
                lambda n: bar.update(task, completed=n),
                warmup,
            )
            bar.update(task, description="waiting for alerts")
            while len(result.received) < len(wanted) and not listener.done():
                if time.time() > result.ended_at + ALERT_GRACE_S:
                    break
                await asyncio.sleep(POLL_S)
        if listener.done():
            listener.result()  # the listener failed: raise its error
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        await producer.stop()
        await consumer.stop()
    return result


async def _send_paced(
    settings: Settings,
    producer: Any,
    paced: Sequence[Paced],
    rate: int,
    result: Latency,
    progress: Callable[[int], None],
    warmup: int = 0,
) -> None:
    """Every 10 ms, send what is due by then; a trigger's time is taken as it is sent."""
    topics = {p.message.etype: input_topic(settings, p.message.etype) for p in paced}
    for topic in set(topics.values()):
        await producer.partitions_for(topic)
    pending: list[asyncio.Future[Any]] = []
    started = time.time()
    sent = 0
    while sent < len(paced):
        due = min(len(paced), int((time.time() - started) * rate) + 1)
        for i in range(sent, due):
            p = paced[i]
            if p.trigger:
                (result.warmup if i < warmup else result.triggers)[p.trigger] = time.time()
            m = p.message
            pending.append(await producer.send(topics[m.etype], m.value, key=m.key))
        sent = due
        progress(sent)
        pending = _undelivered(pending)
        await asyncio.sleep(0.01)
    await asyncio.gather(*pending)
    result.ended_at = time.time()
    result.send_s = result.ended_at - started


def _undelivered(deliveries: list[asyncio.Future[Any]]) -> list[asyncio.Future[Any]]:
    """The deliveries still in flight; raises the error of one that failed. Checked as the
    run goes: gathering all of them at the end (20,000 at the defaults) kept the loop from
    reading alerts for long enough to add ~0.2 s to the last triggers' latency."""
    still = []
    for delivery in deliveries:
        if delivery.done():
            delivery.result()
        else:
            still.append(delivery)
    return still
