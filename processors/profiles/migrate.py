"""``riskwire state migrate``: move stored profiles from state v1 to v2, and encode them.

v1 kept a profile's dedup record as a *set* of hex identities, forever; v2 keeps a sorted
set bounded by the replay horizon (:mod:`processors.profiles.horizon`). The migration, run
once with the workers stopped (it is idempotent, and resumes where it stopped):

- renames each profile hash ``rw:{ent|per:<id>}:v1`` to ``…:v2`` (the same hash tag, so
  the same slot on a cluster), and moves every identity of ``…:seen:v1`` into
  ``…:seen:v2`` as if applied now, from *any source* (tag 0) at the profile's latest
  business time. They stay known for a whole horizon after the migration, then fold into
  the profile's any-source mark: a redelivery of a v1 event is never applied twice;
- copies each index ``rw:ix:v1:<index>`` to ``rw:ix:v2:<index>`` and removes the old one
  (index keys have no hash tag, so this is a copy, not a rename);
- then stores every profile document still held as JSON in its compact encoding
  (:mod:`processors.profiles.codec`): only if the document is still the one read, so it is
  safe beside running workers too (the version is unchanged: so is the content);
- and stores every grade still held as JSON in its compact encoding
  (:mod:`processors.grade_migrate`), under the same compare-and-set rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.clock import Clock
from core.errors import StoreError
from core.redis_lua import LuaScript, run_pipeline
from core.redis_reply import text_of
from processors.grade_migrate import GradeMigration
from processors.profiles import codec, horizon
from streams.profile import STATE_VERSION

OLD_VERSION = "v1"
CHUNK = 1000  # identities per ZADD, index members per copy
_MOVE_LUA = """
-- KEYS: old hash, old seen set, new hash, new seen zset. ARGV: score, members (raw).
-- 1 when moved, 0 when already moved (or gone).
if redis.call('EXISTS', KEYS[3]) == 1 or redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('RENAME', KEYS[1], KEYS[3])
for i = 2, #ARGV, 1000 do
  local args = {}
  for j = i, math.min(i + 999, #ARGV) do
    args[#args + 1] = ARGV[1]
    args[#args + 1] = ARGV[j]
  end
  redis.call('ZADD', KEYS[4], unpack(args))
end
redis.call('DEL', KEYS[2])
return 1
"""


_ENCODE_LUA = """
-- KEYS: profile hash. ARGV: the document as read, its encoding. 1 when stored.
if redis.call('HGET', KEYS[1], 'doc') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[2])
return 1
"""


@dataclass(slots=True)
class Migrated:
    profiles: int = 0
    identities: int = 0
    indices: int = 0
    encoded: int = 0  # profile documents moved from JSON to the compact encoding
    grades: int = 0  # stored grades moved from JSON to the compact encoding


def _kinds(redis_key: bytes, version: str = OLD_VERSION) -> tuple[str, str] | None:
    """``(kind, id)`` of a profile hash key of ``version``, else ``None``."""
    text = redis_key.decode()
    for kind in ("ent", "per"):
        prefix, suffix = f"rw:{{{kind}:", f"}}:{version}"
        if text.startswith(prefix) and text.endswith(suffix):
            return kind, text[len(prefix) : -len(suffix)]
    return None


def _latest(doc: bytes | None, now: datetime) -> datetime:
    """The profile's latest business time (an upper bound of its events'), else now."""
    if doc:
        last = orjson.loads(doc).get("last_event_time")
        if last:
            return datetime.fromisoformat(last)
    return now


class StateMigration:
    def __init__(self, redis: Redis, clock: Clock) -> None:
        self._redis = redis
        self._clock = clock
        self._move = LuaScript(redis, _MOVE_LUA)
        self._encode = LuaScript(redis, _ENCODE_LUA)

    async def run(self) -> Migrated:
        done = Migrated()
        try:
            async for key in self._redis.scan_iter(match=f"rw:{{*}}:{OLD_VERSION}", count=1000):
                found = _kinds(key)
                if found is not None:
                    done.identities += await self._profile(*found)
                    done.profiles += 1
            async for key in self._redis.scan_iter(match=f"rw:ix:{OLD_VERSION}:*", count=1000):
                await self._index(key)
                done.indices += 1
            async for key in self._redis.scan_iter(match=f"rw:{{*}}:{STATE_VERSION}", count=1000):
                done.encoded += await self._encoded(key)
            done.grades = await GradeMigration(self._redis).run()
        except RedisError as exc:
            raise StoreError(f"migrating the profile state failed: {exc}") from exc
        return done

    async def _profile(self, kind: str, ident: str) -> int:
        tag = f"{{{kind}:{ident}}}"
        keys = [f"rw:{tag}:{OLD_VERSION}", f"rw:{tag}:seen:{OLD_VERSION}"]
        keys += [f"rw:{tag}:{STATE_VERSION}", f"rw:{tag}:seen:{STATE_VERSION}"]
        now = self._clock.now()
        doc: Any = await self._redis.hget(keys[0], "doc")
        score = horizon.score(now, _latest(doc and codec.decode(doc), now), horizon.ANY_SOURCE)
        stored: Any = await self._redis.smembers(keys[1])
        members = [horizon.member(text_of(m)) for m in stored]
        moved = await run_pipeline(
            self._redis,
            lambda pipe: self._move.queue(pipe, keys, [score, *members]),
            self._move,
        )
        return len(members) if moved[0] else 0

    async def _encoded(self, key: bytes) -> int:
        """1 when the profile hash ``key`` held JSON and now holds its encoding."""
        if _kinds(key, STATE_VERSION) is None:
            return 0
        doc: Any = await self._redis.hget(key, "doc")
        if not doc or doc[:1] != b"{":
            return 0
        stored = await run_pipeline(
            self._redis,
            lambda pipe: self._encode.queue(pipe, [key], [doc, codec.encode(doc)]),
            self._encode,
        )
        return int(stored[0])

    async def _index(self, key: bytes) -> None:
        name = key.decode().removeprefix(f"rw:ix:{OLD_VERSION}:")
        target = f"rw:ix:{STATE_VERSION}:{name}"
        pairs: Any = await self._redis.zrange(key, 0, -1, withscores=True)
        for chunk in _chunks(pairs):
            await self._redis.zadd(target, dict(chunk))
        await self._redis.delete(key)


def _chunks(pairs: list[tuple[bytes, float]]) -> Iterator[list[tuple[bytes, float]]]:
    for i in range(0, len(pairs), CHUNK):
        yield pairs[i : i + CHUNK]
