"""The dead-letter topic: every input message that could not be accepted, with the reason.

The value follows ``events.md``: ``{topic, partition, offset, error, raw}``, plus ``reason``
(the metric label) and ``raw_encoding`` when the bytes were not UTF-8. It is the one place
raw input may be kept.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Protocol

import orjson

from processors.pipeline import DeadLetter


class Publisher(Protocol):
    async def publish(self, messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        """Send ``(topic, key, value)`` messages and wait until the broker has them."""
        ...


def dead_letter_value(letter: DeadLetter) -> bytes:
    msg = letter.message
    raw = msg.value or b""
    doc: dict[str, object] = {
        "topic": msg.topic,
        "partition": msg.partition,
        "offset": msg.offset,
        "error": letter.error.detail,
        "reason": letter.error.reason.value,
    }
    try:
        doc["raw"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        doc["raw"] = base64.b64encode(raw).decode("ascii")
        doc["raw_encoding"] = "base64"
    return orjson.dumps(doc)


class KafkaDeadLetters:
    def __init__(self, publisher: Publisher, topic: str) -> None:
        self._publisher = publisher
        self._topic = topic

    async def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        await self._publisher.publish(
            [(self._topic, letter.message.key, dead_letter_value(letter)) for letter in letters]
        )
