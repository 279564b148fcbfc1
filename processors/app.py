"""The faust app: one agent over the four input topics, feeding batches to the processor,
plus the relays and the consumer-lag probe. Wiring only; the work is in ``pipeline``.

Offsets are committed by faust after a batch has been processed (``take_batches`` acks a
batch when the next one is asked for), so a ``kill -9`` replays at most the uncommitted
batches, and the profile store's dedup makes the replay change nothing.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import faust
from faust.sensors.monitor import Monitor
from redis.exceptions import RedisError

from alerts.notify.wiring import NotifyStores, build_scheduler
from alerts.relay import AlertRelay
from alerts.retention import AlertSweeper
from alerts.subscriptions import SubscriptionCache, SubscriptionStore
from core.clock import SystemClock
from core.errors import PublishError, StoreError
from core.settings import Settings
from core.telemetry import (
    CONSUMER_LAG,
    PUBLISH_ERRORS,
    REDIS_ERRORS,
    announce_build,
    get_logger,
    serve_metrics,
)
from processors import fresh_partitions
from processors.batching import take_batches
from processors.crash import exit_unacked
from processors.dead_letters import KafkaDeadLetters
from processors.gauges import measure_model, measure_waiting
from processors.grade_relay import GradeRelay
from processors.heartbeat import beat
from processors.pipeline import Incoming
from processors.progress import Progress
from processors.runtime import Runtime
from processors.stall import StallWatch, check_stall
from processors.supervise import keep_running, reported
from rules.live import RulesWatcher, rules_config_from_settings
from rules.models.checkpoint import LEARN_EVERY_S
from streams.cloudevents import CloudEventHeaders

log = get_logger(__name__)


class FaustPublisher:
    """Publishes through the faust app's producer and waits for the broker's acks. Alert,
    grade and dead-letter messages get their CloudEvents headers here (``stamp``)."""

    def __init__(self, app: faust.App, stamp: CloudEventHeaders) -> None:
        self._app = app
        self._stamp = stamp

    async def publish(self, messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        producer = self._app.producer
        pending = [
            await producer.send(topic, key, value, None, None, self._stamp(topic, value))
            for topic, key, value in messages
        ]
        await asyncio.gather(*pending)


class BatchMonitor(Monitor):
    """faust's monitor without its bookkeeping for every message (about 2% of a worker's
    CPU): riskwire keeps its own metrics (``core.telemetry``), and faust's web view, the
    only reader of these counters, is off. Offsets, commits and assignment are tracked as
    before."""

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        return None

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> None:
        return None

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: Any = None
    ) -> None:
        return None

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        return None


def incoming(event: Any) -> Incoming:
    m = event.message
    return Incoming(
        topic=m.topic,
        partition=m.partition,
        offset=m.offset,
        key=m.key,
        value=m.value,
        timestamp_ms=int(m.timestamp * 1000),
    )


def new_faust_app(settings: Settings) -> faust.App:
    """The faust app every riskwire worker runs on: raw serializers, a memory store, no web
    view and :class:`BatchMonitor`. The benchmark's no-op ceiling worker is built on it too,
    so that the two differ only in what their agent does."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    fresh_partitions.install()  # a rebalance must not skip a fresh partition's first records
    return faust.App(
        settings.app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        value_serializer="raw",
        key_serializer="raw",
        store="memory://",
        datadir=str(settings.state_dir / "{conf.name}-data"),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        web_enabled=False,
        producer_linger=settings.producer_linger_s,
        producer_acks=-1,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        stream_buffer_maxsize=max(4096, settings.worker_batch_max * 4),
        broker_max_poll_records=settings.worker_batch_max,
        monitor=BatchMonitor(),
    )


def create_app(settings: Settings) -> faust.App:
    announce_build()
    app = new_faust_app(settings)
    clock = SystemClock()
    publisher = FaustPublisher(app, CloudEventHeaders.from_settings(settings, clock))
    runtime = Runtime.build(settings, KafkaDeadLetters(publisher, settings.topic_dlq))
    app.riskwire = runtime  # type: ignore[attr-defined]

    watch = StallWatch(settings.worker_stall_s)
    _attach_agent(app, runtime, settings.input_topics, watch)

    @app.timer(interval=5.0, on_leader=False)
    async def watch_for_stall() -> None:
        await check_stall(watch, app.consumer, settings.input_topics)

    _attach_outputs(app, runtime, settings, publisher, clock)
    _attach_upkeep(app, runtime, settings, clock)
    _attach_probes(app, runtime, settings, clock)
    return app


def _attach_outputs(
    app: faust.App,
    runtime: Runtime,
    settings: Settings,
    publisher: FaustPublisher,
    clock: SystemClock,
) -> None:
    """The relays of the alert and grade feeds to Kafka, the webhooks, and /metrics."""
    consumer = f"{socket.gethostname()}-{os.getpid()}"
    relay = AlertRelay(
        runtime.redis,
        publisher,
        topic=settings.topic_alerts,
        consumer=consumer,
        dead_letter_topic=settings.topic_dlq_outputs,
        subscriptions=SubscriptionCache(
            SubscriptionStore(runtime.redis, clock), clock, settings.departments
        ),
        archive_topic=settings.topic_alert_archive,
    )
    webhooks = build_scheduler(runtime.redis, settings, consumer=consumer, clock=clock)

    @app.task
    async def enqueue_webhooks() -> None:
        await _until_stopped("webhook_feed", webhooks.enqueue_from_feed)

    @app.task
    async def deliver_webhooks() -> None:
        await _until_stopped("webhook_delivery", webhooks.run_due)

    @app.task
    async def expose_metrics() -> None:
        serve_metrics(settings.api_host, settings.worker_metrics_port)

    grade_relay = GradeRelay(
        runtime.redis,
        publisher,
        topic=settings.topic_grades,
        consumer=consumer,
        dead_letter_topic=settings.topic_dlq_outputs,
    )

    @app.task
    async def publish_alerts() -> None:
        await _until_stopped("alert_relay", relay.run)

    @app.task
    async def publish_grades() -> None:
        await _until_stopped("grade_relay", grade_relay.run)


async def _until_stopped(name: str, run: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Keep ``run(stopping)`` running (:func:`keep_running`); ``stopping`` is set when the
    task is cancelled, so that what it started winds down."""
    stopping = asyncio.Event()
    try:
        await keep_running(name, lambda: run(stopping))
    finally:
        stopping.set()


def _attach_upkeep(
    app: faust.App, runtime: Runtime, settings: Settings, clock: SystemClock
) -> None:
    """The sweep of closed alerts, the rules' reload and the model's rounds of learning."""
    sweeper = AlertSweeper(
        runtime.redis,
        clock,
        retention=timedelta(days=settings.alert_retention_days),
        batch=settings.alert_sweep_batch,
    )

    @app.task
    async def sweep_closed_alerts() -> None:
        stopping = asyncio.Event()
        try:
            await sweeper.run(stopping, settings.alert_sweep_interval_s)
        finally:
            stopping.set()

    watcher = RulesWatcher(
        runtime.redis, rules_config_from_settings(settings), runtime.engine.replace
    )

    @app.timer(interval=3.0, on_leader=False)
    async def reload_rules() -> None:
        await reported("reload_rules", watcher.poll)
        await reported("reload_shadow_rules", runtime.shadow.poll)

    @app.timer(interval=LEARN_EVERY_S, on_leader=False)
    async def learn_labels() -> None:
        # Batches queue their labels; learning them in rounds is here (and in a batch that
        # finds a full round waiting), so a label waits a few seconds at most.
        try:
            await runtime.models.learn_queued()
        except (StoreError, RedisError) as exc:
            REDIS_ERRORS.labels("model").inc()
            log.warning("learning queued labels failed", error=str(exc))
        except Exception as exc:  # never a dead timer: the next round tries again
            log.error("learning queued labels failed", error=repr(exc)[:500])


def _attach_probes(
    app: faust.App, runtime: Runtime, settings: Settings, clock: SystemClock
) -> None:
    """Every 5 s: the consumer lag, the heartbeat, source freshness and the gauges."""
    worker_id = f"{socket.gethostname()}-{os.getpid()}"
    lag_shown: set[tuple[str, int]] = set()
    stores = NotifyStores.build(runtime.redis, settings, clock)

    @app.timer(interval=5.0, on_leader=False)
    async def measure_lag() -> None:
        try:
            assigned = await _measure_lag(app, settings.input_topics, lag_shown)
        except Exception as exc:  # the broker away: the heartbeat still says we live
            log.warning("measuring consumer lag failed", error=repr(exc)[:500])
            assigned = 0
        try:
            await beat(runtime.redis, worker_id, assigned)
        except Exception as exc:
            REDIS_ERRORS.labels("heartbeat").inc()
            log.warning("heartbeat failed", error=str(exc))
        try:
            await runtime.sources.flush()
            await measure_waiting(runtime.redis, stores, settings.departments, clock)
            await measure_model(runtime.redis, runtime.models.key)
        except Exception as exc:
            REDIS_ERRORS.labels("gauges").inc()
            log.warning("measuring sources and backlogs failed", error=str(exc))


def _attach_agent(
    app: faust.App, runtime: Runtime, topic_names: Sequence[str], watch: StallWatch
) -> None:
    """One agent over every input topic, so that a batch holds whatever arrived on any of
    them: a batch's Redis round trips, grade writes and model checkpoint are paid once for
    all four topics (at 1,000 events/s an agent per topic made batches of about ten
    events, and those fixed costs were most of the worker's CPU). Each partition is still
    read in order, and a batch's messages carry their own topic."""
    topic = app.topic(*topic_names, value_serializer="raw", key_serializer="raw")
    batch_max = runtime.settings.worker_batch_max
    linger = runtime.settings.worker_batch_linger_s
    progress = Progress(runtime.redis)

    async def consume(stream: Any) -> None:
        async for events in take_batches(stream, batch_max, linger):
            watch.batch_started()
            batch = [incoming(e) for e in events]
            while True:
                try:
                    report = await runtime.processor.process(batch)
                    # on the replicas before the batch is acked (core/redis_durability.py)
                    await runtime.replicated()
                    break
                except (StoreError, RedisError) as exc:
                    # Redis is down or the batch kept conflicting: nothing was acked, so
                    # retrying the whole batch is safe (applied events are deduplicated).
                    REDIS_ERRORS.labels("process").inc()
                    log.warning("batch failed, retrying", size=len(batch), error=str(exc))
                    await asyncio.sleep(1.0)
                except PublishError as exc:
                    # The dead letters did not reach the broker: retried the same way.
                    PUBLISH_ERRORS.labels("dlq").inc()
                    log.warning("batch's dead letters failed, retrying", error=str(exc))
                    await asyncio.sleep(1.0)
                except Exception as exc:  # no retry fixes it: never ack it (processors/crash.py)
                    exit_unacked(exc, len(batch))
            progress.add_behind(len(batch), report.round_trips)  # reports its own errors
            watch.batch_done()

    app.agent(topic, name="riskwire.agent.inputs")(consume)


async def _measure_lag(app: faust.App, topics: Sequence[str], shown: set[tuple[str, int]]) -> int:
    """Set the lag gauge of each input partition this worker holds, and remove those of
    partitions it no longer holds (``shown``: the ones set last time); answers how many
    input partitions it holds."""
    consumer = app.consumer
    try:
        assigned = consumer.assignment()
    except Exception:  # consumer not started yet
        return 0
    lag: dict[tuple[str, int], int] = {}
    for tp in assigned:
        if tp.topic not in topics:
            continue
        position = await consumer.position(tp)
        highwater = consumer.highwater(tp)
        if position is not None and highwater is not None:
            lag[(tp.topic, tp.partition)] = max(0, highwater - position)
    for topic, partition in shown - lag.keys():
        CONSUMER_LAG.remove(topic, str(partition))
    for (topic, partition), value in lag.items():
        CONSUMER_LAG.labels(topic, str(partition)).set(value)
    shown.clear()
    shown.update(lag)
    return sum(1 for tp in assigned if tp.topic in topics)
