"""The audit chain's head, anchored outside Redis: each API process publishes the head
(stream key, entry count, hash) to the compacted topic ``riskwire.audit.anchor`` as it
moves, keyed by the stream key, and ``riskwire audit verify`` checks the chain against
the highest anchor found there. Someone who can write Redis can cut entries off the end
and reset the head to match, but cannot take back what Kafka already holds.

Publishing never delays a request: :meth:`AnchorPublisher.note` records the newest head
and a background task sends it (heads noted meanwhile are coalesced; a failed send is
retried). The anchor therefore trails the head by the time one send takes, and what was
appended in that window is covered by the HMAC chain only.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from aiokafka import AIOKafkaProducer

from api.producer import start_producer
from core.telemetry import get_logger

if TYPE_CHECKING:
    from core.settings import Settings

log = get_logger(__name__)
SEND_TIMEOUT_S = 10.0
RETRY_S = (0.5, 1.0, 2.0, 5.0)
READ_TIMEOUT_MS = 10_000


@dataclass(frozen=True, slots=True)
class Anchor:
    stream: str
    count: int
    hash: str

    def to_json(self) -> bytes:
        return orjson.dumps({"stream": self.stream, "count": self.count, "hash": self.hash})


class AnchorPublisher:
    """Publishes each stream's newest head; one per API process (``app.state``)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.topic = settings.topic_audit_anchor
        self._latest: dict[str, Anchor] = {}
        self._sent: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None

    def note(self, anchor: Anchor) -> None:
        """Record a new head (an older one than already noted is ignored)."""
        current = self._latest.get(anchor.stream)
        if current is None or anchor.count > current.count:
            self._latest[anchor.stream] = anchor
            self._wake.set()

    def pending(self) -> list[Anchor]:
        return [a for s, a in self._latest.items() if a.count > self._sent.get(s, 0)]

    async def run(self) -> None:
        """Send noted heads until cancelled, retrying with backoff while Kafka fails."""
        with contextlib.suppress(Exception):  # connect early: the first head goes out at once
            await self._started()
        failures = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.send_pending()
                failures = 0
            except Exception as exc:  # Kafka down: keep the head, try again
                log.warning("audit anchor not published", error=str(exc)[:300])
                await asyncio.sleep(RETRY_S[min(failures, len(RETRY_S) - 1)])
                failures += 1
                self._wake.set()

    async def send_pending(self) -> None:
        producer = await self._started()
        for anchor in self.pending():
            await asyncio.wait_for(
                producer.send_and_wait(self.topic, anchor.to_json(), key=anchor.stream.encode()),
                timeout=SEND_TIMEOUT_S,
            )
            self._sent[anchor.stream] = max(self._sent.get(anchor.stream, 0), anchor.count)

    async def _started(self) -> AIOKafkaProducer:
        if self._producer is None:
            self._producer = await start_producer(
                self._settings.kafka_bootstrap,
                timeout_s=SEND_TIMEOUT_S,
                request_timeout_ms=int(SEND_TIMEOUT_S * 1000),
            )
        return self._producer

    async def close(self) -> None:
        """Send what is pending (best effort, bounded), then stop the producer."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.send_pending(), timeout=SEND_TIMEOUT_S)
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()
            self._producer = None


def read_anchor(settings: Settings, stream: str) -> Anchor | None:
    """The highest anchor published for ``stream`` (``None``: none yet); blocking, reads
    the whole compacted topic once. Raises when Kafka cannot be read."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        request_timeout_ms=READ_TIMEOUT_MS + 5_000,
        consumer_timeout_ms=READ_TIMEOUT_MS,
    )
    try:
        parts = consumer.partitions_for_topic(settings.topic_audit_anchor) or set()
        tps = [TopicPartition(settings.topic_audit_anchor, p) for p in sorted(parts)]
        if not tps:
            raise RuntimeError(f"the anchor topic {settings.topic_audit_anchor} does not exist")
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends: dict[Any, int] = consumer.end_offsets(tps)
        best: Anchor | None = None
        todo = {tp for tp in tps if consumer.position(tp) < ends[tp]}
        while todo:
            batch = consumer.poll(timeout_ms=READ_TIMEOUT_MS)
            if not batch:
                raise RuntimeError("the anchor topic could not be read to its end")
            for tp, records in batch.items():
                for record in records:
                    best = _better(best, record.key, record.value, stream)
                if consumer.position(tp) >= ends[tp]:
                    todo.discard(tp)
        return best
    finally:
        consumer.close()


def _better(
    best: Anchor | None, key: bytes | None, value: bytes | None, stream: str
) -> Anchor | None:
    if key != stream.encode() or not value:
        return best
    try:
        doc = orjson.loads(value)
        anchor = Anchor(stream, int(doc["count"]), str(doc["hash"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return best
    return anchor if best is None or anchor.count > best.count else best
