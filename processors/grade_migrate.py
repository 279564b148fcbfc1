"""Store the grades kept as JSON in their compact encoding (:mod:`processors.grade_codec`);
part of ``riskwire state migrate``.

Each enterprise's current grade (``doc`` of ``rw:{ent:<uscc>}:grade:v1``) and the members of
its letter changes and revisions (``…:grades:v1``, ``…:grades:rev:v1``) that are still JSON
are replaced by their encoding, under the same score. Each replacement is a compare-and-set
(the document still the one read, the member still present), so it is idempotent and safe
beside running workers; the grade it says is the same, so is its signature. An outbox entry
(``…:grades:outbox:v1``) is left as it is: the feed reads either form, and removes the
entry by the bytes it read.
"""

from __future__ import annotations

from typing import Any, Final

from redis.asyncio import Redis

from core.redis_lua import LuaScript, run_pipeline
from processors import grade_codec

PATTERN: Final = "rw:{ent:*}:grade*"
_SETS: Final = (":grades:v1", ":grades:rev:v1")
_ENCODE_LUA = """
-- KEYS: a current grade hash or a grade zset. ARGV: 'hash' or 'zset', then (as read, its
-- encoding) pairs. Answers how many were replaced.
local n = 0
for i = 2, #ARGV, 2 do
  if ARGV[1] == 'hash' then
    if redis.call('HGET', KEYS[1], 'doc') == ARGV[i] then
      redis.call('HSET', KEYS[1], 'doc', ARGV[i + 1])
      n = n + 1
    end
  else
    local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
    if score then
      redis.call('ZREM', KEYS[1], ARGV[i])
      redis.call('ZADD', KEYS[1], score, ARGV[i + 1])
      n = n + 1
    end
  end
end
return n
"""


class GradeMigration:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._encode = LuaScript(redis, _ENCODE_LUA)

    async def run(self) -> int:
        """How many stored grades were encoded (current ones and kept ones)."""
        done = 0
        async for key in self._redis.scan_iter(match=PATTERN, count=1000):
            name = key.decode() if isinstance(key, bytes) else key
            if name.endswith(":grade:v1"):
                doc: Any = await self._redis.hget(name, "doc")
                done += await self._replace(name, "hash", [doc] if doc else [])
            elif name.endswith(_SETS):
                members: Any = await self._redis.zrange(name, 0, -1)
                done += await self._replace(name, "zset", members)
        return done

    async def _replace(self, key: str, kind: str, stored: list[bytes]) -> int:
        args: list[Any] = [kind]
        for doc in stored:
            if doc[:1] == b"{":
                args += [doc, grade_codec.encode(grade_codec.decode(doc))]  # as the store writes it
        if len(args) == 1:
            return 0
        replies = await run_pipeline(
            self._redis, lambda pipe: self._encode.queue(pipe, [key], args), self._encode
        )
        return int(replies[0])
