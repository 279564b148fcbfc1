"""Relaying a Redis stream (an outbox) to Kafka, at least once.

The workers share one Redis consumer group on the stream (:class:`streams.stream_group.GroupTail`,
the loop the webhook scheduler's feed tail runs too), so each entry is published by one of
them; an entry is acknowledged only after the broker has it, and entries a dead worker
left pending are claimed by the others after ``claim_idle_ms``. A subclass says
which Kafka messages an entry becomes (:meth:`StreamRelay.messages`); consumers of those
topics must tolerate a republished entry (they keep the latest revision, or the topic is
compacted by key).

A message the broker refuses for good (too large, invalid: :mod:`streams.refusal`) would
fail the same way on every worker for ever, so it is dead-lettered instead, with its
reason and a bounded excerpt (:mod:`streams.excerpt`), and the relay goes on with the
next entry. A transient failure (the broker away) leaves the entries pending, retried.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import ClassVar, Protocol, Required, TypedDict, Unpack

import orjson
from redis.asyncio import Redis

from core.errors import DlqReason, PublishError
from core.telemetry import OUTPUT_DEAD_LETTERED, get_logger
from streams.excerpt import raw_excerpt
from streams.refusal import refusal_of
from streams.stream_group import Entry, GroupTail, StreamGroup

log = get_logger(__name__)

Message = tuple[str, bytes | None, bytes]  # topic, key, value
__all__ = [
    "KAFKA_GROUP",
    "Entry",
    "FeedOptions",
    "FeedRelay",
    "Message",
    "Publisher",
    "RelayOptions",
    "StreamRelay",
]

KAFKA_GROUP = "kafka-relay"  # the consumer group of the relays to Kafka


class Publisher(Protocol):
    async def publish(self, messages: Sequence[Message]) -> None:
        """Send the messages and wait until the broker has them."""
        ...


class RelayOptions(TypedDict, total=False):
    """How a relay reads its stream (:class:`StreamGroup`'s figures) and where what the
    broker refuses goes: what every relay passes on to :class:`StreamRelay` as it is."""

    batch: int
    block_ms: int
    claim_idle_ms: int
    dead_letter_topic: str | None


class StreamRelay(GroupTail):
    """A :class:`~streams.stream_group.GroupTail` whose batch becomes Kafka messages
    (:meth:`messages`, what a subclass says), published before it is acknowledged."""

    name = "relay"  # a bounded metric label

    def __init__(
        self,
        redis: Redis,
        publisher: Publisher,
        *,
        stream: str,
        group: str,
        consumer: str,
        batch: int = 500,
        block_ms: int = 1000,
        claim_idle_ms: int = 30_000,
        dead_letter_topic: str | None = None,
    ) -> None:
        tail = StreamGroup(stream, group, consumer, "0", batch, block_ms, claim_idle_ms)
        super().__init__(redis, tail, name=self.name)
        self._publisher, self._stream = publisher, stream
        self._dead_letter_topic = dead_letter_topic

    @abstractmethod
    async def messages(self, entries: Sequence[Entry]) -> list[Message]:
        """The Kafka messages these stream entries become."""

    async def handle(self, entries: Sequence[Entry]) -> None:
        """Publish the batch's messages; if the broker refuses one for good, publish them
        one by one and dead-letter only the refused."""
        try:
            await self._publish(await self.messages(entries))
        except PublishError as exc:
            if exc.refused is None:
                raise
            for entry in entries:
                await self._publish_entry(entry)

    async def _publish(self, messages: Sequence[Message]) -> None:
        try:
            await self._publisher.publish(messages)
        except Exception as exc:
            raise PublishError(f"{self.name}: {exc!r}"[:1000], refused=refusal_of(exc)) from exc

    async def _publish_entry(self, entry: Entry) -> None:
        messages = await self.messages([entry])
        try:
            await self._publish(messages)
        except PublishError as exc:
            if exc.refused is None:
                raise
            await self._dead_letter(entry, messages, exc.refused, str(exc))

    async def _dead_letter(
        self, entry: Entry, messages: Sequence[Message], reason: DlqReason, error: str
    ) -> None:
        """Publish a bounded record of the refused entry to the dead-letter topic (raises
        :class:`PublishError` when that fails too: the entry stays pending)."""
        entry_id, _ = entry
        topic, key, value = messages[0] if messages else ("", None, b"")
        OUTPUT_DEAD_LETTERED.labels(self.name, reason.value).inc()
        log.error(
            "relay dead-lettered a message the broker refused",
            relay=self.name,
            entry=entry_id.decode(),
            reason=reason.value,
            size=len(value),
        )
        if self._dead_letter_topic is None:
            return
        doc: dict[str, object] = {
            "topic": topic,
            "partition": None,
            "offset": None,
            "error": error[:1000],
            "reason": reason.value,
            "stream": self._stream,
            "entry_id": entry_id.decode(),
        }
        doc.update(raw_excerpt(value))
        await self._publish([(self._dead_letter_topic, key, orjson.dumps(doc))])


class FeedOptions(RelayOptions, total=False):
    """What a :class:`FeedRelay` is built with besides its Redis and publisher."""

    topic: Required[str]
    consumer: Required[str]
    group: str


class FeedRelay(StreamRelay):
    """A relay of one feed (the stream ``feed``, what a subclass names) to ``topic`` and
    the topics its :meth:`messages` add, in the relays' consumer group
    (:data:`KAFKA_GROUP`) unless another is given."""

    feed: ClassVar[str]

    def __init__(
        self,
        redis: Redis,
        publisher: Publisher,
        *,
        topic: str,
        consumer: str,
        group: str = KAFKA_GROUP,
        **options: Unpack[RelayOptions],
    ) -> None:
        super().__init__(
            redis, publisher, stream=self.feed, group=group, consumer=consumer, **options
        )
        self._topic = topic
