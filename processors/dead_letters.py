"""The dead-letter topic: every input message that could not be accepted, with the reason.

The value follows ``events.md``: ``{topic, partition, offset, error, raw}``, plus ``reason``
(the metric label), ``raw_encoding`` when the bytes were not UTF-8, and the original's
``raw_bytes`` and ``raw_sha256`` with ``raw_truncated`` when ``raw`` is only an excerpt
(:mod:`streams.excerpt`): a dead letter is bounded, so it never fails its batch for
being too large. It is the one place raw input may be kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

import orjson

from core.errors import PublishError
from core.telemetry import PUBLISH_ERRORS, get_logger
from processors.batch import DeadLetter
from streams.excerpt import RAW_EXCERPT_BYTES, raw_excerpt
from streams.refusal import refusal_of

log = get_logger(__name__)

# A key longer than this (a hostile producer's) is cut, so the dead letter stays bounded.
MAX_KEY_BYTES = 1024
# A transient publish failure is retried here a few times before the batch is retried.
PUBLISH_ATTEMPTS = 3
RETRY_DELAY_S = 0.5


class Publisher(Protocol):
    async def publish(self, messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        """Send ``(topic, key, value)`` messages and wait until the broker has them."""
        ...


def dead_letter_value(letter: DeadLetter, *, raw_limit: int = RAW_EXCERPT_BYTES) -> bytes:
    msg = letter.message
    doc: dict[str, object] = {
        "topic": msg.topic,
        "partition": msg.partition,
        "offset": msg.offset,
        "error": letter.error.detail,
        "reason": letter.error.reason.value,
    }
    doc.update(raw_excerpt(msg.value or b"", limit=raw_limit))
    return orjson.dumps(doc)


class KafkaDeadLetters:
    """Publishes dead letters. A transient failure is retried, then raised as
    :class:`~core.errors.PublishError` (the batch is retried: nothing was acked); a letter
    the broker still refuses is sent again without its excerpt, and never fails the batch."""

    def __init__(self, publisher: Publisher, topic: str) -> None:
        self._publisher = publisher
        self._topic = topic

    async def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        messages = [self._message(letter, RAW_EXCERPT_BYTES) for letter in letters]
        try:
            await self._send(messages)
        except PublishError as exc:
            if exc.refused is None:
                raise
            for letter in letters:  # one by one: only the refused lose their excerpt
                await self._send_one(letter)

    async def _send_one(self, letter: DeadLetter) -> None:
        try:
            await self._send([self._message(letter, RAW_EXCERPT_BYTES)])
        except PublishError as exc:
            if exc.refused is None:
                raise
            log.warning("dead letter refused, sent without its excerpt", error=str(exc))
            await self._send([self._message(letter, 0)])

    def _message(self, letter: DeadLetter, raw_limit: int) -> tuple[str, bytes | None, bytes]:
        key = letter.message.key
        key = key[:MAX_KEY_BYTES] if key is not None else None
        return (self._topic, key, dead_letter_value(letter, raw_limit=raw_limit))

    async def _send(self, messages: list[tuple[str, bytes | None, bytes]]) -> None:
        for attempt in range(1, PUBLISH_ATTEMPTS + 1):
            try:
                await self._publisher.publish(messages)
                return
            except Exception as exc:
                refused = refusal_of(exc)
                if refused is not None or attempt == PUBLISH_ATTEMPTS:
                    message = f"dead letters not published: {exc!r}"[:1000]
                    raise PublishError(message, refused=refused) from exc
                PUBLISH_ERRORS.labels("dlq").inc()
                log.warning("dead letters not published, retrying", error=str(exc))
                await asyncio.sleep(RETRY_DELAY_S * attempt)
