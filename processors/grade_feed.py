"""Grade changes moved from their enterprises' outboxes to the feed (``rw:{grades}:feed:v1``),
which :class:`~processors.grade_relay.GradeRelay` publishes to ``riskwire.grades``.

Each change is appended to the feed first and leaves its outbox only after that, so a crash
in between loses none (:mod:`processors.grades`). On one Redis both steps are one script
call, one round trip: the script stops at the first error, before any outbox is emptied.
A cluster keeps the feed and the outboxes in different slots, so there they are two
pipelines, one after the other.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from core.redis_lua import LuaScript, run_pipeline
from processors import grade_codec
from rules.grading import Grade

FEED_KEY = "rw:{grades}:feed:v1"
# KEYS[1] the feed, KEYS[2..] the outbox of each change. ARGV[1] the feed's maxlen, then
# for each change its message and its outbox entry.
_FEED_LUA = """
for i = 2, #KEYS do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'grade', ARGV[2 * i - 2])
end
for i = 2, #KEYS do
  redis.call('LREM', KEYS[i], 1, ARGV[2 * i - 1])
end
return #KEYS - 1
"""


def grade_message(uscc: str, current: Grade, previous_grade: str | None) -> bytes:
    """The ``riskwire.grades`` value: ``{uscc, grade, score, previous_grade, factors, time}``."""
    doc = current.model_dump(mode="json")
    return orjson.dumps(
        {
            "uscc": uscc,
            "grade": current.grade,
            "score": current.score,
            "previous_grade": previous_grade,
            "factors": doc["factors"],
            "time": doc["at"],
        }
    )


class GradeFeed:
    def __init__(self, redis: Redis, feed_maxlen: int) -> None:
        self._redis = redis
        self._maxlen = feed_maxlen
        self._one_node = not isinstance(redis, RedisCluster)
        self._script = LuaScript(redis, _FEED_LUA)

    async def move(self, items: Sequence[tuple[str, str, bytes]]) -> None:
        """Feed each ``(uscc, outbox key, outbox entry)``, then empty it from its outbox."""
        messages = [_message(uscc, item) for uscc, _, item in items]
        if self._one_node:
            args: list[object] = [self._maxlen]
            for message, (_, _, item) in zip(messages, items, strict=True):
                args += [message, item]
            keys = [FEED_KEY, *(key for _, key, _ in items)]
            await run_pipeline(
                self._redis, lambda pipe: self._script.queue(pipe, keys, args), self._script
            )
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for message in messages:
                pipe.xadd(FEED_KEY, {"grade": message}, maxlen=self._maxlen, approximate=True)
            await pipe.execute()
        async with self._redis.pipeline(transaction=False) as pipe:
            for _, key, item in items:
                pipe.lrem(key, 1, item)  # type: ignore[arg-type]  # bytes: the entry as read
            await pipe.execute()


def _message(uscc: str, item: bytes) -> bytes:
    previous, _, doc = item.partition(b"|")
    return grade_message(uscc, grade_codec.decode(doc), previous.decode() or None)
