"""The relay of the grades feed (``rw:{grades}:feed:v1``, written by
:class:`~processors.grades.GradeStore`) to ``riskwire.grades``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Unpack

import orjson
from redis.asyncio import Redis

from processors.grades import FEED_KEY
from streams.relay import KAFKA_GROUP, Entry, Message, Publisher, RelayOptions, StreamRelay

GROUP = KAFKA_GROUP


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
        **options: Unpack[RelayOptions],
    ) -> None:
        super().__init__(
            redis, publisher, stream=FEED_KEY, group=group, consumer=consumer, **options
        )
        self._topic = topic

    async def messages(self, entries: Sequence[Entry]) -> list[Message]:
        out: list[Message] = []
        for _, fields in entries:
            value: bytes = fields[b"grade"]
            out.append((self._topic, orjson.loads(value)["uscc"].encode(), value))
        return out
