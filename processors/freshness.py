"""How fresh each source is: the Kafka time of the newest accepted event per input topic
and source department, kept in Redis so that a restarted worker (or another one) still
knows when a department last sent something::

    rw:sources:v1   hash   "<topic> <department>" -> newest Kafka timestamp (ms)

A batch only folds its newest times into a dict in memory and counts its events per
department (:meth:`SourceFreshness.note`);
a timer writes them, keeping the larger of Redis's and ours, and sets the gauges from
what every worker wrote (:meth:`SourceFreshness.flush`).

A source names its department as its first path segment (``samr/registry``,
``/tax/levy``); a department riskwire does not know counts as ``other``, so the label
stays bounded.

>>> source_department("/samr/registry", frozenset({"samr"}))
'samr'
>>> source_department("somebody", frozenset({"samr"}))
'other'
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Final

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.errors import StoreError
from core.telemetry import SOURCE_EVENTS, SOURCE_EXPECTED_INTERVAL, SOURCE_LAST_EVENT

SOURCES_KEY: Final = "rw:sources:v1"
OTHER: Final = "other"

_MERGE_LUA = """
-- KEYS: the hash. ARGV: (field, ms) pairs. Keeps the larger time; answers the whole hash.
for i = 1, #ARGV, 2 do
  local seen = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
  if tonumber(ARGV[i + 1]) > seen then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return redis.call('HGETALL', KEYS[1])
"""


def source_department(source: str, departments: frozenset[str]) -> str:
    head = source.lstrip("/").split("/", 1)[0]
    return head if head in departments else OTHER


class SourceFreshness:
    def __init__(
        self,
        redis: Redis,
        departments: Collection[str],
        expected_interval_s: Mapping[str, float],
    ) -> None:
        self._departments = frozenset(departments)
        self._expected = dict(expected_interval_s)
        self._merge = redis.register_script(_MERGE_LUA)
        self._newest: dict[tuple[str, str], int] = {}

    def note(self, seen: Mapping[tuple[str, str], tuple[int, int]]) -> None:
        """Fold a batch's (newest Kafka time, events) per (topic, raw source)."""
        for (topic, source), (ms, count) in seen.items():
            key = (topic, source_department(source, self._departments))
            SOURCE_EVENTS.labels(*key).inc(count)
            if ms > self._newest.get(key, 0):
                self._newest[key] = ms

    async def flush(self) -> None:
        """Write what was noted since the last flush and set the gauges from Redis."""
        noted, self._newest = self._newest, {}
        args: list[Any] = []
        for (topic, department), ms in noted.items():
            args += [f"{topic} {department}", ms]
        try:
            flat = await self._merge(keys=[SOURCES_KEY], args=args)
        except RedisError as exc:
            for key, ms in noted.items():  # keep them for the next flush
                self._newest[key] = max(ms, self._newest.get(key, 0))
            raise StoreError(f"recording source freshness failed: {exc}") from exc
        for i in range(0, len(flat), 2):
            field = flat[i].decode() if isinstance(flat[i], bytes) else flat[i]
            topic, _, department = field.rpartition(" ")
            SOURCE_LAST_EVENT.labels(topic, department).set(int(flat[i + 1]) / 1000)
        for department, seconds in self._expected.items():
            SOURCE_EXPECTED_INTERVAL.labels(department).set(seconds)
