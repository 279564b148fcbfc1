"""The relay of the grades feed (``rw:{grades}:feed:v1``, written by
:class:`~processors.grades.GradeStore`) to ``riskwire.grades``."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from redis.asyncio import Redis

from processors.grades import FEED_KEY
from streams.relay import Entry, Message, Publisher, StreamRelay

GROUP = "kafka-relay"


class GradeRelay(StreamRelay):
    """Publishes the grades feed to ``riskwire.grades`` (key ``uscc``), at least once (see
    :mod:`streams.relay`). The topic is compacted by ``uscc``, so a republished entry is
    harmless."""

    name = "grade_relay"

    def __init__(
        self,
        redis: Redis,
        publisher: Publisher,
        *,
        topic: str,
        consumer: str,
        group: str = GROUP,
        batch: int = 500,
        block_ms: int = 1000,
        claim_idle_ms: int = 30_000,
        dead_letter_topic: str | None = None,
    ) -> None:
        super().__init__(
            redis,
            publisher,
            stream=FEED_KEY,
            group=group,
            consumer=consumer,
            batch=batch,
            block_ms=block_ms,
            claim_idle_ms=claim_idle_ms,
            dead_letter_topic=dead_letter_topic,
        )
        self._topic = topic

    async def messages(self, entries: Sequence[Entry]) -> list[Message]:
        out: list[Message] = []
        for _, fields in entries:
            value: bytes = fields[b"grade"]
            out.append((self._topic, orjson.loads(value)["uscc"].encode(), value))
        return out
