"""Closed alerts leave Redis after a retention; the archive topic keeps them.

An alert resolved or dismissed more than ``RISKWIRE_ALERT_RETENTION_DAYS`` ago (its
``updated_at``, which a closed alert never changes again) is removed from Redis by a
periodic sweep in the worker: its document, revision, listing indices, closed-index entry
and the receivers' feedback timeline. The alert stays readable on the compacted archive
topic (``riskwire alerts archive``).

What it never does:

- remove an alert that the Kafka relay has not yet published: the closed index is scored
  by the feed sequence number of the write that closed the alert, and a tick takes only
  entries at or below what the relay group has acknowledged (:meth:`relayed_seq`);
- touch dedup state of a condition still open: the only alert dedup state is the open
  fingerprint hash, which a closed alert left when it closed; the sweep deletes that
  entry only if it still names the swept alert, so an open alert of the same fingerprint
  keeps deduplicating its rule's hits (they merge into it, never re-fire);
- do unbounded work: a tick reads and removes at most ``batch`` alerts (one Lua step).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from alerts.index_keys import digest, listing_keys
from alerts.notify.inbound import TIMELINE_KEY
from alerts.relay import GROUP
from alerts.store import CLOSED_KEY, DOC_KEY, FEED_KEY, OPEN_KEY, REV_KEY, alerts_lua
from core.clock import Clock
from core.errors import StoreError
from core.redis_lua import LuaScript, run_pipeline
from core.telemetry import ALERTS_SWEPT, REDIS_ERRORS, get_logger

log = get_logger(__name__)

_SWEEP_LUA = alerts_lua("sweep.lua")


def _seq(entry_id: Any) -> int:
    text = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    return int(text.split("-", 1)[0])


def _closed_at(doc: bytes) -> datetime:
    return datetime.fromisoformat(orjson.loads(doc)["updated_at"])


class AlertSweeper:
    def __init__(
        self, redis: Redis, clock: Clock, *, retention: timedelta, batch: int = 500
    ) -> None:
        self._redis, self._clock = redis, clock
        self._retention, self._batch = retention, batch
        self._script = LuaScript(redis, _SWEEP_LUA)

    async def relayed_seq(self) -> int:
        """The highest feed sequence number below which the relay has published every
        entry (0 when no relay has run)."""
        try:
            groups: Any = await self._redis.xinfo_groups(FEED_KEY)
        except ResponseError:  # no feed yet
            return 0
        group = next((g for g in groups if g["name"] in (GROUP, GROUP.encode())), None)
        if group is None:
            return 0
        safe = _seq(group["last-delivered-id"])
        if group["pending"]:
            pending: Any = await self._redis.xpending(FEED_KEY, GROUP)
            if pending["min"] is not None:  # else the relay acknowledged them meanwhile
                safe = min(safe, _seq(pending["min"]) - 1)
        return safe

    async def _due(self, safe: int) -> list[tuple[str, int, bytes | None]]:
        """The closed alerts to remove now, oldest closing first."""
        pairs: Any = await self._redis.zrangebyscore(
            CLOSED_KEY, "-inf", safe, start=0, num=self._batch, withscores=True
        )
        if not pairs:
            return []
        ids = [member.decode() for member, _ in pairs]
        docs: list[Any] = await self._redis.hmget(DOC_KEY, ids)
        cutoff = self._clock.now() - self._retention
        due: list[tuple[str, int, bytes | None]] = []
        for alert_id, (_, score), doc in zip(ids, pairs, docs, strict=True):
            # Closing order is feed order: the first one still inside the retention
            # ends this tick (a later tick takes the rest).
            if doc is not None and _closed_at(doc) > cutoff:
                break
            due.append((alert_id, int(score), doc))
        return due

    async def tick(self) -> int:
        """Remove up to ``batch`` closed alerts past the retention; how many it removed."""
        try:
            due = await self._due(await self.relayed_seq())
            if not due:
                return 0
            keys, args = [DOC_KEY, REV_KEY, OPEN_KEY, CLOSED_KEY], []
            for alert_id, score, doc in due:  # each index it leaves, named in KEYS
                indices = listing_keys(doc) if doc is not None else []
                keys += indices
                args += [alert_id, score, digest(doc), len(indices)]

            def fill(pipe: Any) -> None:
                self._script.queue(pipe, keys, args)

            [removed] = await run_pipeline(self._redis, fill, self._script)
            async with self._redis.pipeline(transaction=False) as pipe:
                for alert_id, _, _ in due:  # one key per command: each its own cluster slot
                    pipe.delete(TIMELINE_KEY.format(alert_id=alert_id))
                await pipe.execute()
        except RedisError as exc:
            raise StoreError(f"sweeping closed alerts failed: {exc}") from exc
        ALERTS_SWEPT.inc(int(removed))
        return int(removed)

    async def run(self, stopping: asyncio.Event, interval_s: float) -> None:
        """Tick every ``interval_s`` (at once again while a tick finds a full batch)."""
        while not stopping.is_set():
            removed = 0
            try:
                removed = await self.tick()
            except StoreError as exc:
                REDIS_ERRORS.labels("retention").inc()
                log.warning("alert retention sweep failed", error=str(exc))
            if removed:
                log.info("closed alerts past the retention removed", removed=removed)
            wait = 0.0 if removed >= self._batch else interval_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=max(wait, 0.01))
