"""What ``riskwire backtest`` replays: the input topics' retained history, read with a
consumer of its own (no consumer group, nothing committed), or a JSON-lines file written
by ``riskwire simulate --out`` (gzip when it ends in ``.gz``).

Each message is kept as the worker would receive it (:class:`~processors.pipeline.Incoming`).
The period is by event time (the envelope's ``time``): events after its end are not
replayed; events before its start are replayed as warm-up, so that the rules' windows and
the grades see the history, but what they raise is not compared. A message whose time
cannot be read is replayed (the pipeline dead-letters it) and counted in the period.
Inspection outcomes (``inspection.recorded`` of an enterprise with a decided
``violation_found``) in the period are collected as labels.
"""

from __future__ import annotations

import gzip
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import orjson

from core.errors import BacktestError
from core.settings import Settings
from processors.pipeline import Incoming
from streams.kafka import input_topic

MAX_LINE_BYTES: Final = 1_048_576  # a line longer than this is not an event: refused
POLL_MS: Final = 500
IDLE_LIMIT_S: Final = 30.0


@dataclass(frozen=True, slots=True)
class Period:
    """``[start, end]`` by event time, either end open."""

    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.start > self.end:
            raise BacktestError(f"--from {self.start.isoformat()} is after --to")

    def describe(self) -> str:
        start = self.start.isoformat() if self.start else "the beginning"
        end = self.end.isoformat() if self.end else "the end"
        return f"{start} to {end}"


def parse_time(text: str | None, option: str) -> datetime | None:
    """An ISO 8601 date or time; without an offset it is UTC."""
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise BacktestError(f"{option} {text[:64]!r} is not an ISO 8601 date or time") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass(slots=True)
class Replay:
    """The messages to replay, in order, and what they are."""

    messages: list[Incoming] = field(default_factory=list)
    in_period: int = 0
    warmup: int = 0
    after: int = 0  # not replayed: later than the period
    labels: list[tuple[str, datetime, bool]] = field(default_factory=list)

    def add(self, period: Period, raw: Incoming) -> None:
        doc = _envelope(raw.value)
        when = _time(doc)
        if when is not None and period.end is not None and when > period.end:
            self.after += 1
            return
        self.messages.append(raw)
        if when is not None and period.start is not None and when < period.start:
            self.warmup += 1
            return
        self.in_period += 1
        label = _label(doc)
        if label is not None and when is not None:
            self.labels.append((label[0], when, label[1]))


def _envelope(value: bytes | None) -> dict[str, Any] | None:
    try:
        doc = orjson.loads(value) if value else None
    except orjson.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


def _time(doc: dict[str, Any] | None) -> datetime | None:
    try:
        when = datetime.fromisoformat(doc["time"]) if doc else None
    except (KeyError, TypeError, ValueError):
        return None
    return when if when is None or when.tzinfo else None


def _label(doc: dict[str, Any] | None) -> tuple[str, bool] | None:
    if not doc or doc.get("type") != "inspection.recorded":
        return None
    subject, data = doc.get("subject"), doc.get("data")
    found = data.get("violation_found") if isinstance(data, dict) else None
    if not isinstance(subject, str) or subject.startswith("P:") or not isinstance(found, bool):
        return None
    return subject, found


# -- a file ---------------------------------------------------------------------------------


def _lines(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as raw:
            for number, line in enumerate(raw, 1):
                if len(line) > MAX_LINE_BYTES:
                    raise BacktestError(f"{path}: line {number} is longer than 1 MiB")
                if line.strip():
                    yield line.rstrip(b"\r\n")
    except OSError as exc:  # missing, unreadable, a directory, not gzip
        raise BacktestError(f"{path}: cannot read the input: {exc.strerror or exc}") from None
    except (EOFError, zlib.error) as exc:  # a gzip file cut short or corrupt
        raise BacktestError(f"{path}: cannot read the input: {exc}") from None


def from_file(path: Path, settings: Settings, period: Period) -> Replay:
    """The events of a JSON-lines file, in file order, each on its event type's topic."""
    replay = Replay()
    offsets: dict[str, int] = {}
    for line in _lines(path):
        doc = _envelope(line)
        etype = doc.get("type") if doc else None
        try:
            topic = input_topic(settings, etype) if isinstance(etype, str) else None
        except KeyError:
            topic = None
        topic = topic or settings.topic_registration  # the pipeline dead-letters it
        offset = offsets[topic] = offsets.get(topic, -1) + 1
        when = _time(doc)
        ms = int(when.timestamp() * 1000) if when else 0
        replay.add(period, Incoming(topic, 0, offset, None, line, ms))
    return replay


# -- the topics -----------------------------------------------------------------------------


def _consumer(settings: Settings) -> Any:
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    try:
        return KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=None,  # no group: nothing committed, no live consumer disturbed
            enable_auto_commit=False,
            max_partition_fetch_bytes=4 * 1024 * 1024,
            request_timeout_ms=30_000,
        )
    except KafkaError as exc:
        raise BacktestError(f"Kafka {settings.kafka_bootstrap}: {exc}") from None


def _read_all(consumer: Any, ends: dict[Any, int]) -> Iterable[Incoming]:
    """Every message up to ``ends`` (the end offsets when reading started)."""
    left = {tp for tp, end in ends.items() if end > consumer.position(tp)}
    out: list[Incoming] = []
    idle_since = time.monotonic()
    while left:
        batches = consumer.poll(timeout_ms=POLL_MS, max_records=10_000)
        if not batches:
            if time.monotonic() - idle_since > IDLE_LIMIT_S:
                raise BacktestError(f"no progress reading {len(left)} partitions for 30 s")
            continue
        idle_since = time.monotonic()
        for tp, records in batches.items():
            for r in records:
                if r.offset < ends[tp]:
                    out.append(
                        Incoming(r.topic, r.partition, r.offset, r.key, r.value, r.timestamp)
                    )
            if consumer.position(tp) >= ends[tp]:
                left.discard(tp)
    return out


def from_topics(settings: Settings, period: Period) -> Replay:
    """The input topics' retained history, merged in the order Kafka stamped it."""
    from kafka import TopicPartition
    from kafka.errors import KafkaError

    consumer = _consumer(settings)
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in settings.input_topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            raise BacktestError(f"Kafka {settings.kafka_bootstrap} has none of the input topics")
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        messages = list(_read_all(consumer, ends))
    except KafkaError as exc:
        raise BacktestError(f"reading the input topics failed: {exc}") from None
    finally:
        consumer.close()
    messages.sort(key=lambda m: (m.timestamp_ms, m.topic, m.partition, m.offset))
    replay = Replay()
    for message in messages:
        replay.add(period, message)
    return replay
