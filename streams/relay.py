"""Relaying a Redis stream (an outbox) to Kafka, at least once.

The workers share one Redis consumer group on the stream, so each entry is published by
one of them; an entry is acknowledged only after the broker has it, and entries a dead
worker left pending are claimed by the others after ``claim_idle_ms``. A subclass says
which Kafka messages an entry becomes (:meth:`StreamRelay.messages`); consumers of those
topics must tolerate a republished entry (they keep the latest revision, or the topic is
compacted by key).

A message the broker refuses for good (too large, invalid: :mod:`streams.refusal`) would
fail the same way on every worker for ever, so it is dead-lettered instead, with its
reason and a bounded excerpt (:mod:`streams.excerpt`), and the relay goes on with the
next entry. A transient failure (the broker away) leaves the entries pending, retried.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Protocol

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from core.errors import DlqReason, PublishError, StoreError
from core.telemetry import OUTPUT_DEAD_LETTERED, PUBLISH_ERRORS, REDIS_ERRORS, get_logger
from streams.excerpt import raw_excerpt
from streams.refusal import refusal_of

log = get_logger(__name__)

Message = tuple[str, bytes | None, bytes]  # topic, key, value
Entry = tuple[bytes, dict[bytes, bytes]]  # stream entry id, fields


class Publisher(Protocol):
    async def publish(self, messages: Sequence[Message]) -> None:
        """Send the messages and wait until the broker has them."""
        ...


class StreamRelay(ABC):
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
        self._redis, self._publisher = redis, publisher
        self._stream, self._group, self._consumer = stream, group, consumer
        self._batch, self._block_ms, self._claim_idle_ms = batch, block_ms, claim_idle_ms
        self._dead_letter_topic = dead_letter_topic

    @abstractmethod
    async def messages(self, entries: Sequence[Entry]) -> list[Message]:
        """The Kafka messages these stream entries become."""

    def published(self, entries: Sequence[Entry]) -> None:  # noqa: B027 (an optional hook)
        """Called after the broker has the entries' messages (metrics)."""

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, self._group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self, stopping: asyncio.Event) -> None:
        """Relay until ``stopping``; survives Redis and broker errors, a lost stream or
        group, and messages the broker refuses."""
        while not stopping.is_set():
            try:
                await self.ensure_group()
                break
            except RedisError as exc:
                REDIS_ERRORS.labels(self.name).inc()
                log.warning("relay cannot create its group", relay=self.name, error=str(exc))
                await asyncio.sleep(1)
        while not stopping.is_set():
            try:
                await self.step()
            except ResponseError as exc:
                # NOGROUP / UNBLOCKED: the stream or its group is gone (Redis restarted
                # without its data, or the key was deleted). Recreate the group and go on.
                REDIS_ERRORS.labels(self.name).inc()
                log.warning(
                    "relay read refused, recreating its group", relay=self.name, error=str(exc)
                )
                await asyncio.sleep(0.5)
                await self._recreate_group()
            except (RedisError, StoreError) as exc:
                REDIS_ERRORS.labels(self.name).inc()
                log.warning("relay step failed", relay=self.name, error=str(exc))
                await asyncio.sleep(1)
            except PublishError as exc:
                PUBLISH_ERRORS.labels(self.name).inc()
                log.warning("relay publish failed, retrying", relay=self.name, error=str(exc))
                await asyncio.sleep(1)

    async def _recreate_group(self) -> None:
        try:
            await self.ensure_group()
        except RedisError as exc:  # Redis still away: the next step tries again
            log.warning("relay group not recreated", relay=self.name, error=str(exc))

    async def step(self) -> int:
        """Publish one batch: entries this consumer or a dead one left pending, else new ones."""
        claimed: Any = await self._redis.xautoclaim(
            self._stream,
            self._group,
            self._consumer,
            min_idle_time=self._claim_idle_ms,
            count=self._batch,
        )
        entries: list[Entry] = [e for e in claimed[1] if e[1]]
        if not entries:
            reply: Any = await self._redis.xreadgroup(
                self._group,
                self._consumer,
                {self._stream: ">"},
                count=self._batch,
                block=self._block_ms,
            )
            entries = reply[0][1] if reply else []
        if not entries:
            return 0
        try:
            await self._publish(await self.messages(entries))
        except PublishError as exc:
            if exc.refused is None:
                raise
            for entry in entries:  # one by one: dead-letter only the refused ones
                await self._publish_entry(entry)
        await self._redis.xack(self._stream, self._group, *[entry_id for entry_id, _ in entries])
        self.published(entries)
        return len(entries)

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
