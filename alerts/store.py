"""The Redis alert store and live feed.

All alert keys share the hash tag ``{alerts}`` so that the compare-and-set of an alert,
its fingerprint index, the sequence counter and the feed entry are one atomic Lua step::

    rw:{alerts}:open:v1    hash    fingerprint -> alert_id of the open alert
    rw:{alerts}:doc:v1     hash    alert_id -> alert JSON
    rw:{alerts}:rev:v1     hash    alert_id -> revision
    rw:{alerts}:seq:v1     string  the last sequence number
    rw:{alerts}:feed:v1    stream  entry id "<seq>-0": alert (JSON, stored compressed:
                                   alerts/feed_codec.py), change, received_ms
    rw:{alerts}:closed:v1  zset    alert_id of each closed alert, scored by the feed seq
                                   that closed it (the retention sweep's queue)
    rw:{alerts}:ix:v1:...  zsets   the listing indices (:mod:`alerts.index`)

The feed is the bounded replay buffer of the WebSocket board and the outbox the relay
publishes to Kafka from. The listing indices are kept by the same Lua step, so a listing
never sees an alert in an index it has left. Every key a script touches is declared in its
``KEYS``, the listing indices too (:mod:`alerts.index_keys` names them), as Redis Cluster
requires; ``tests/integration/test_script_keys.py`` watches the scripts run to hold that.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from alerts import feed_codec
from alerts.dedup import Change
from alerts.index_keys import digest, listing_keys
from alerts.size import bounded_json
from core.errors import StoreError
from core.redis_lua import LuaScript, run_pipeline
from core.redis_reply import text_of
from streams.alert import Alert

OPEN_KEY = "rw:{alerts}:open:v1"
DOC_KEY = "rw:{alerts}:doc:v1"
REV_KEY = "rw:{alerts}:rev:v1"
SEQ_KEY = "rw:{alerts}:seq:v1"
FEED_KEY = "rw:{alerts}:feed:v1"
CLOSED_KEY = "rw:{alerts}:closed:v1"


def alerts_lua(name: str) -> str:
    """The source of ``alerts/<name>``."""
    return resources.files("alerts").joinpath(name).read_text()


_UPSERT_LUA = alerts_lua("upsert.lua")
_FIXED_KEYS: Final = [OPEN_KEY, DOC_KEY, REV_KEY, SEQ_KEY, FEED_KEY, CLOSED_KEY]
_READ_OPEN_LUA = """
local out = {}
for i, fp in ipairs(ARGV) do
  local id = redis.call('HGET', KEYS[1], fp)
  if id then out[i] = redis.call('HGET', KEYS[2], id) or false else out[i] = false end
end
return out
"""


@dataclass(frozen=True, slots=True)
class Upsert:
    alert: Alert
    expected_revision: int  # 0 for a new alert
    change: Change
    received_ms: int  # when the event that caused it reached riskwire (Kafka timestamp)
    # The stored document the alert was read from (OpenAlerts.docs), if the caller has it:
    # the listing indices it leaves are computed from it without reading it again. The
    # upsert checks its digest, so one that moved meanwhile is refused, not trusted.
    stored: bytes | None = None


class OpenAlerts(dict[str, Alert]):
    """Open alerts by fingerprint, and the stored document of each, by alert id."""

    def __init__(self) -> None:
        super().__init__()
        self.docs: dict[str, bytes] = {}

    def stored(self, alert: Alert | None) -> bytes | None:
        return None if alert is None else self.docs.get(alert.alert_id)


def stored_of(read: Mapping[str, Alert], alert: Alert | None) -> bytes | None:
    """The stored document ``alert`` was read from, if ``read`` (open alerts) kept it."""
    return read.stored(alert) if isinstance(read, OpenAlerts) else None


class AlertStore:
    def __init__(self, redis: Redis, *, feed_maxlen: int = 100_000) -> None:
        self._redis = redis
        self._feed_maxlen = feed_maxlen
        self._upsert = LuaScript(redis, _UPSERT_LUA)
        self._read_open = redis.register_script(_READ_OPEN_LUA)

    async def open_alerts(self, fingerprints: Collection[str]) -> dict[str, Alert]:
        fps = list(fingerprints)
        out = OpenAlerts()
        if not fps:
            return out
        try:
            docs = await self._read_open(keys=[OPEN_KEY, DOC_KEY], args=fps)
        except RedisError as exc:
            raise StoreError(f"reading {len(fps)} open alerts failed: {exc}") from exc
        for fp, doc in zip(fps, docs, strict=True):
            if doc:
                out[fp] = alert = Alert.model_validate_json(doc)
                out.docs[alert.alert_id] = doc
        return out

    async def upsert(self, upserts: Sequence[Upsert]) -> list[int | None]:
        """Write each alert if its revision is unchanged, appending it to the feed: the feed
        sequence number, or ``None`` when another writer changed it first. What is written
        is the alert within its size bound (:func:`alerts.size.bounded`)."""
        if not upserts:
            return []
        calls = await self._calls(upserts)

        def fill(pipe: Pipeline) -> None:
            for keys, args in calls:
                self._upsert.queue(pipe, keys, args)

        try:
            replies = await run_pipeline(self._redis, fill, self._upsert)
        except RedisError as exc:
            raise StoreError(f"writing {len(upserts)} alerts failed: {exc}") from exc
        return [int(r) if int(r) >= 0 else None for r in replies]

    async def _calls(self, upserts: Sequence[Upsert]) -> list[tuple[list[str], list[Any]]]:
        """Each upsert's keys and arguments: every listing index it leaves or joins is
        named in its KEYS, computed from the stored document (or, for an alert written
        twice in one batch, from the first write). That document is read here only for
        the upserts that neither carry it nor create an alert (whose new id has none)."""
        stored = await self._stored(upserts)
        written: dict[str, bytes | str | None] = {}
        calls: list[tuple[list[str], list[Any]]] = []
        for u, doc in zip(upserts, stored, strict=True):
            alert_id = u.alert.alert_id
            old = written.get(alert_id, doc)
            new = bounded_json(u.alert)
            written[alert_id] = new
            was = listing_keys(old) if old is not None else []
            now = listing_keys(new)
            leave = [k for k in was if k not in now]
            join = [k for k in now if k not in was]
            args: list[Any] = [
                u.alert.fingerprint,
                alert_id,
                u.expected_revision,
                u.alert.revision,
                new,
                1 if u.alert.status.is_open else 0,
                self._feed_maxlen,
                u.change.value,
                u.received_ms,
                digest(old),
                len(leave),
                feed_codec.encode(new.encode()),
            ]
            calls.append(([*_FIXED_KEYS, *leave, *join], args))
        return calls

    async def open_ids(self, groups: Sequence[Sequence[str]]) -> list[set[str]]:
        """For each group of fingerprints, the ids of their open alerts (one pipelined
        round trip, an ``HMGET`` per group)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for fps in groups:
                pipe.hmget(OPEN_KEY, list(fps))
            replies: list[Any] = await pipe.execute()
        return [{text_of(i) for i in found if i} for found in replies]

    async def departments(self, alert_ids: Collection[str]) -> dict[str, list[str]]:
        """The departments each stored alert of ``alert_ids`` is routed to (one ``HMGET``;
        an alert no longer stored is left out)."""
        ordered = sorted(alert_ids)
        docs = await self._docs(ordered)
        return {
            alert_id: list(orjson.loads(doc).get("departments", ()))
            for alert_id, doc in zip(ordered, docs, strict=True)
            if doc
        }

    async def _stored(self, upserts: Sequence[Upsert]) -> list[bytes | str | None]:
        """The stored document of each upsert's alert."""
        # a new alert's id is fresh: nothing is stored under it
        stored: list[bytes | str | None] = [
            u.stored if u.expected_revision else None for u in upserts
        ]
        unread = [i for i, u in enumerate(upserts) if u.expected_revision and u.stored is None]
        if not unread:
            return stored
        docs = await self._docs([upserts[i].alert.alert_id for i in unread])
        for i, doc in zip(unread, docs, strict=True):
            stored[i] = doc
        return stored

    async def _docs(self, alert_ids: Sequence[str]) -> list[Any]:
        """The stored document of each of ``alert_ids``, in order (``None`` for one not
        stored), in one ``HMGET``; raises :class:`StoreError` if Redis fails."""
        if not alert_ids:
            return []
        try:
            docs: list[Any] = await self._redis.hmget(DOC_KEY, list(alert_ids))
        except RedisError as exc:
            raise StoreError(f"reading {len(alert_ids)} alerts failed: {exc}") from exc
        return docs

    async def get(self, alert_id: str) -> Alert | None:
        doc = await self._redis.hget(DOC_KEY, alert_id)
        return Alert.model_validate_json(doc) if doc else None
