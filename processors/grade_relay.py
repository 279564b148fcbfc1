"""The relay of the grades feed (``rw:{grades}:feed:v1``, written by
:class:`~processors.grades.GradeStore`) to ``riskwire.grades``."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from processors.grades import FEED_KEY
from streams.relay import Entry, FeedRelay, Message


class GradeRelay(FeedRelay):
    """Publishes the grades feed to ``riskwire.grades`` (key ``uscc``), at least once (see
    :mod:`streams.relay`). The topic is compacted by ``uscc``, so a republished entry is
    harmless."""

    name = "grade_relay"
    feed = FEED_KEY

    async def messages(self, entries: Sequence[Entry]) -> list[Message]:
        out: list[Message] = []
        for _, fields in entries:
            value: bytes = fields[b"grade"]
            out.append((self._topic, orjson.loads(value)["uscc"].encode(), value))
        return out
