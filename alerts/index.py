"""The alert listing indices and the paged query over them.

Every alert is a member of time-ordered sorted sets, kept by the alert store's Lua step
(``upsert.lua``) whenever it is written, so they never disagree with the documents::

    rw:{alerts}:ix:v1:d:<dept>             every alert routed to <dept>
    rw:{alerts}:ix:v1:d:<dept>:s:<status>  ... with that status
    rw:{alerts}:ix:v1:d:<dept>:r:<rule>    ... of that rule
    rw:{alerts}:ix:v1:d:<dept>:v:<sev>     ... of that severity
    rw:{alerts}:ix:v1:e:<uscc>             every alert listing that enterprise

``<dept>`` ``*`` holds every alert (the oversight admins' view). Members all have score 0
and are alert ids: ULIDs, which sort by creation time, so a lexicographic range read
(``ZREVRANGEBYLEX``) walks an index newest first from any position, and an alert keeps its
position for life. Every key carries the ``{alerts}`` hash tag of the alert store.

A query walks the smallest index that its filters name (by ``ZCARD``), keeps the candidates
that are members of its other indices (``ZSCORE``, inside one Lua step), and checks every
filter again on the documents it answers (the department too: defence in depth), the time
range only there. A request examines at most :data:`SCAN_BUDGET` candidates; a page that
ran out of budget is short, and its ``next`` continues where the scan stopped.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any, Final

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from alerts.index_keys import ALL_DEPARTMENTS, department_key, digest, enterprise_key, listing_keys
from alerts.store import CLOSED_KEY, DOC_KEY, REV_KEY, SEQ_KEY, alerts_lua
from core.errors import StoreError
from core.redis_lua import LuaScript, run_pipeline

SCAN_BUDGET: Final = 1000  # candidates one request may examine
_CURSOR_PREFIX: Final = "c1."
_REINDEX_TRIES: Final = 5
_ALERT_ID: Final = re.compile(r"^[0-9A-Za-z]{1,64}$")
_REINDEX_LUA: Final = alerts_lua("reindex.lua")
_PAGE_LUA: Final = resources.files("alerts").joinpath("page.lua").read_text()


class BadCursor(ValueError):
    """A cursor this server did not hand out (HTTP 422)."""


def encode_cursor(alert_id: str) -> str:
    """The opaque cursor after ``alert_id``.

    >>> decode_cursor(encode_cursor("01JZ8Q4W7M3X9V2K5T6R8N0B1C"))
    '01JZ8Q4W7M3X9V2K5T6R8N0B1C'
    """
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(alert_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    if not cursor.startswith(_CURSOR_PREFIX):
        raise BadCursor("游标无效")
    body = cursor[len(_CURSOR_PREFIX) :]
    try:
        alert_id = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise BadCursor("游标无效") from None
    if not _ALERT_ID.match(alert_id):
        raise BadCursor("游标无效")
    return alert_id


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """What a listing asks for. ``department`` ``None``: every department's alerts."""

    department: str | None
    status: str | None = None
    rule_id: str | None = None
    severity: str | None = None
    uscc: str | None = None
    since: datetime | None = None  # event_time at or after
    until: datetime | None = None  # event_time at or before

    def candidate_keys(self) -> list[str]:
        """The indices that hold every alert this query can answer (any one will do)."""
        base = department_key(self.department or ALL_DEPARTMENTS)
        keys = [f"{base}:s:{self.status}"] if self.status else []
        keys += [f"{base}:r:{self.rule_id}"] if self.rule_id else []
        keys += [f"{base}:v:{self.severity}"] if self.severity else []
        keys += [enterprise_key(self.uscc)] if self.uscc else []
        return keys or [base]

    def matches(self, doc: dict[str, Any]) -> bool:
        if self.department is not None and self.department not in doc.get("departments", ()):
            return False
        if (
            (self.status and doc.get("status") != self.status)
            or (self.rule_id and doc.get("rule_id") != self.rule_id)
            or (self.severity and doc.get("severity") != self.severity)
            or (self.uscc and self.uscc not in doc.get("enterprises", ()))
        ):
            return False
        if self.since or self.until:
            at = datetime.fromisoformat(doc["event_time"])
            if (self.since and at < self.since) or (self.until and at > self.until):
                return False
        return True


@dataclass(frozen=True, slots=True)
class Page:
    docs: list[bytes]  # the alerts' stored JSON, newest first
    next: str | None  # the cursor of the next page


async def list_page(
    redis: Redis, query: AlertQuery, *, after: str | None, limit: int, budget: int = SCAN_BUDGET
) -> Page:
    """Up to ``limit`` alerts matching ``query``, newest first, created before the alert id
    ``after`` (decoded from a cursor). Index membership is checked inside Redis
    (``page.lua``: one round trip per step, no document read for a non-match); the
    filters no index holds (``since``/``until``), and the department again, here."""
    script = LuaScript(redis, _PAGE_LUA)
    keys = [DOC_KEY, *query.candidate_keys()]
    if query.department is not None and query.uscc:  # the enterprise index spans departments
        keys.append(department_key(query.department))
    found: list[tuple[str, bytes]] = []
    start, examined, ended = f"({after}" if after else "+", 0, False
    try:
        while len(found) <= limit and examined < budget and not ended:
            args = [start, budget - examined, limit + 1 - len(found)]

            def fill(pipe: Any, args: list[Any] = args) -> None:
                script.queue(pipe, keys, args)

            [(n, last, end, ids, docs)] = await run_pipeline(redis, fill, script)
            examined, ended = examined + int(n), bool(end)
            if last:
                start = "(" + last.decode()
            for alert_id, doc in zip(ids, docs, strict=True):
                if doc is not None and query.matches(orjson.loads(doc)):
                    found.append((alert_id.decode(), doc))
                    if len(found) > limit:
                        break
    except RedisError as exc:
        raise StoreError(f"listing alerts failed: {exc}") from exc
    if len(found) > limit:
        return Page([d for _, d in found[:limit]], encode_cursor(found[limit - 1][0]))
    if ended:
        return Page([d for _, d in found], None)
    return Page([d for _, d in found], encode_cursor(start[1:]) if start != "+" else None)


async def reindex(redis: Redis, *, batch: int = 200) -> AsyncIterator[int]:
    """Backfill the listing and closed indices from the stored alert documents (alerts
    written before the indices existed); yields how many it indexed, batch by batch.
    Idempotent, and safe while workers write: re-adding an alert changes nothing, and one
    whose document changed between its read and its step is read and indexed again. A
    batch is one Lua step of about 15 sorted-set writes per alert: small, so other clients
    never wait long for it."""
    script = LuaScript(redis, _REINDEX_LUA)
    cursor = 0
    while True:
        # The revision hash has the same fields as the documents, with tiny values.
        cursor, revisions = await redis.hscan(REV_KEY, cursor, count=batch)
        ids: list[Any] = list(revisions)
        for _ in range(_REINDEX_TRIES):  # again for the alerts written meanwhile
            if not ids:
                break
            done, ids = await _reindex_step(redis, script, ids)
            yield done
        if cursor == 0:
            return


async def _reindex_step(redis: Redis, script: LuaScript, ids: list[Any]) -> tuple[int, list[Any]]:
    """Index the alerts ``ids`` in one Lua step, each under the index keys of its document
    as read here: how many it indexed, and the ids whose document changed meanwhile."""
    docs: list[Any] = await redis.hmget(DOC_KEY, ids)
    keys, args = [DOC_KEY, CLOSED_KEY, SEQ_KEY], []
    for alert_id, doc in zip(ids, docs, strict=True):
        if doc is not None:
            indices = listing_keys(doc)
            keys += indices
            args += [alert_id, digest(doc), len(indices)]
    if not args:
        return 0, []

    def fill(pipe: Any) -> None:
        script.queue(pipe, keys, args)

    [(done, moved)] = await run_pipeline(redis, fill, script)
    return int(done), list(moved)
