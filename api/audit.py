"""The audit log: who queried which enterprise or person, and who acted on which alert,
when and why. Append-only, keyed and hash-chained, so a removed, altered, forged or
truncated entry is detected by :func:`verify` (``riskwire audit verify``).

::

    rw:{audit}:v2        stream  entry id "<seq>-0": entry (canonical JSON), hash
    rw:{audit}:head:v2   hash    hash (of the last entry), count

Entry ``n`` holds ``prev``, the hash of entry ``n-1`` (:data:`GENESIS` for the first), and
its hash is ``HMAC-SHA256(RISKWIRE_AUDIT_KEY, prev + canonical JSON of the entry)``, the
JSON compact with sorted keys: whoever can write Redis but does not hold the key cannot
make an entry that verifies. An append is a compare-and-set on the head (one Lua step,
retried on a race), so concurrent API processes extend one chain. The stream is never
trimmed. Each new head is published outside Redis (:mod:`api.audit_anchor`), and
:func:`verify` checks that the chain still reaches the highest published head, so
entries cut off the end, with the head reset to match, are found too.

(The first version, ``rw:{audit}:v1``, was chained with plain SHA-256; it is left as it
was and no longer written.)
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import unquote

import orjson
from fastapi import Depends, Header, Query
from pydantic import BaseModel, Field
from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.accounts import Account
from api.audit_anchor import Anchor, AnchorPublisher, read_anchor
from api.held import held
from core.cas import AGAIN, Again, compare_and_set
from core.errors import StoreError
from core.redis_reply import text_of

STREAM_KEY = "rw:{audit}:v2"
HEAD_KEY = "rw:{audit}:head:v2"
GENESIS = "0" * 64
MAX_ATTEMPTS = 50
MAX_PURPOSE = 500
PAGE = 1000

_APPEND_LUA = """
-- KEYS: stream, head. ARGV: expected head hash ('' = empty), expected count, entry, hash.
local head = redis.call('HMGET', KEYS[2], 'hash', 'count')
local count = tonumber(head[2] or '0')
if (head[1] or '') ~= ARGV[1] or count ~= tonumber(ARGV[2]) then return 0 end
redis.call('XADD', KEYS[1], (count + 1) .. '-0', 'entry', ARGV[3], 'hash', ARGV[4])
redis.call('HSET', KEYS[2], 'hash', ARGV[4], 'count', count + 1)
return count + 1
"""


class AuditAction(StrEnum):
    ENTERPRISE_VIEW = "enterprise.view"
    ENTERPRISE_BATCH = "enterprise.batch"
    ENTERPRISE_RELATED = "enterprise.related"
    ENTERPRISE_GRADE = "enterprise.grade"
    INVESTIGATION_EXPAND = "investigation.expand"
    ALERTS_QUERY = "alerts.query"  # a listing filtered by one enterprise
    ALERT_ACKNOWLEDGE = "alert.acknowledge"
    ALERT_ASSIGN = "alert.assign"
    ALERT_RESOLVE = "alert.resolve"
    ALERT_DISMISS = "alert.dismiss"
    INSPECTION_DRAW = "inspection.draw"
    INSPECTION_VIEW = "inspection.view"
    INSPECTORS_UPDATE = "inspection.inspectors_update"
    ENFORCEMENT_UPLOAD = "enforcement.upload"
    RULE_UPDATE = "rule.update"
    RULE_SHADOW_LOAD = "rule.shadow_load"
    RULE_SHADOW_DROP = "rule.shadow_drop"
    RULE_SHADOW_PROMOTE = "rule.shadow_promote"
    ACCOUNT_CREATE = "account.create"
    ACCOUNT_REVOKE = "account.revoke"
    AUDIT_READ = "audit.read"


class AuditEntry(BaseModel):
    """One entry as hashed: who, what, when, why, and the previous entry's hash."""

    seq: int
    at: datetime
    account_id: str
    account_name: str
    department: str
    role: str
    action: str
    target: str
    purpose: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    prev: str


class AuditReport(BaseModel):
    ok: bool
    entries: int = Field(description="entries checked")
    head_hash: str = Field(description="the hash of the last entry checked")
    first_bad_seq: int | None = None
    problem: str | None = None
    anchored_at: int | None = Field(
        default=None, description="the entry of the highest head published outside Redis"
    )


def canonical(entry: Mapping[str, Any]) -> bytes:
    """Compact JSON with sorted keys: the bytes an entry's hash covers."""
    return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)


def chain_hash(key: bytes, prev: str, entry_json: bytes) -> str:
    return hmac.new(key, prev.encode() + entry_json, hashlib.sha256).hexdigest()


def seal(key: bytes, entry: AuditEntry) -> tuple[bytes, str]:
    """An entry's stored JSON and its chain hash."""
    body = canonical(entry.model_dump(mode="json"))
    return body, chain_hash(key, entry.prev, body)


class AuditLog:
    def __init__(
        self,
        redis: Redis,
        *,
        key: bytes,
        anchor: AnchorPublisher | None = None,
        now: Callable[[], datetime] | None = None,
        keys: tuple[str, str] = (STREAM_KEY, HEAD_KEY),
    ) -> None:
        self._redis = redis
        self._key = key
        self._anchor = anchor
        self._append = redis.register_script(_APPEND_LUA)
        self._now = now or (lambda: datetime.now(UTC))
        self._stream, self._head = keys

    async def append(
        self,
        account: Account,
        action: AuditAction,
        target: str,
        *,
        purpose: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry to the chain; raises :class:`StoreError` if Redis fails."""

        async def attempt(_: int) -> AuditEntry | Again:
            head: Any = await self._redis.hmget(self._head, "hash", "count")
            prev = text_of(head[0]) if head[0] else ""
            count = int(head[1] or 0)
            entry = AuditEntry(
                seq=count + 1,
                at=self._now(),
                account_id=account.account_id,
                account_name=account.name,
                department=account.department,
                role=str(account.role),
                action=str(action),
                target=target,
                purpose=purpose,
                detail=dict(detail or {}),
                prev=prev or GENESIS,
            )
            body, digest = seal(self._key, entry)
            if not await self._append(
                keys=[self._stream, self._head], args=[prev, count, body, digest]
            ):
                return AGAIN
            if self._anchor is not None:
                self._anchor.note(Anchor(self._stream, entry.seq, digest))
            return entry

        try:
            return await compare_and_set(
                attempt,
                attempts=MAX_ATTEMPTS,
                pause=_jitter,
                exhausted=lambda: StoreError("the audit log head kept moving: append abandoned"),
            )
        except RedisError as exc:
            raise StoreError(f"appending to the audit log failed: {exc}") from exc

    async def entries(self, *, before: int | None = None) -> AsyncIterator[AuditEntry]:
        """Entries newest first, those with ``seq < before`` when given."""
        top = f"({before}-0" if before is not None else "+"
        while True:
            rows: Any = await self._redis.xrevrange(self._stream, max=top, min="-", count=PAGE)
            for _, fields in rows:
                yield AuditEntry.model_validate_json(fields[b"entry"])
            if len(rows) < PAGE:
                return
            top = "(" + text_of(rows[-1][0])


class ChainCheck:
    """Walks the chain one stored entry at a time (pure: :func:`verify` feeds it), with
    the audit key, and against the published ``anchor`` when there is one."""

    def __init__(self, key: bytes, anchor: Anchor | None = None) -> None:
        self.key, self.anchor = key, anchor
        self.prev, self.seq = GENESIS, 0
        self.failure: AuditReport | None = None

    def _fail(self, at: int, problem: str) -> bool:
        self.failure = AuditReport(
            ok=False,
            entries=self.seq,
            head_hash=self.prev,
            first_bad_seq=at,
            problem=problem,
            anchored_at=self.anchor.count if self.anchor else None,
        )
        return False

    def step(self, entry_id: str, body: bytes | None, stored_hash: str) -> bool:
        """Check the next stored entry; ``False`` (and :attr:`failure`) at the first bad one."""
        expected = self.seq + 1
        if entry_id != f"{expected}-0":
            return self._fail(expected, f"entry {expected} is missing (next is {entry_id})")
        try:
            doc = orjson.loads(body or b"")
        except orjson.JSONDecodeError:
            return self._fail(expected, f"entry {expected} is not JSON")
        if not isinstance(doc, dict) or doc.get("seq") != expected:
            return self._fail(expected, f"entry {expected} has the wrong sequence number")
        if doc.get("prev") != self.prev:
            return self._fail(expected, f"entry {expected} does not follow entry {self.seq}")
        if not hmac.compare_digest(chain_hash(self.key, self.prev, canonical(doc)), stored_hash):
            return self._fail(expected, f"entry {expected} was altered or forged (bad HMAC)")
        if self.anchor and expected == self.anchor.count and stored_hash != self.anchor.hash:
            return self._fail(expected, f"entry {expected} is not the one anchored outside Redis")
        self.prev, self.seq = stored_hash, expected
        return True

    def finish(self, head_hash: str, count: int) -> AuditReport:
        """The report, once every stored entry was stepped through: the chain must end
        where the head says and reach the anchor (else entries were cut off the end)."""
        if self.failure is not None:
            return self.failure
        anchored = self.anchor.count if self.anchor else None
        problem = None
        if count != self.seq:
            problem = f"the chain ends at entry {self.seq} but the head says {count} entries"
        elif count and head_hash != self.prev:
            problem = f"the head's hash is not entry {self.seq}'s"
        elif anchored is not None and self.seq < anchored:
            problem = (
                f"the chain ends at entry {self.seq} but entry {anchored} was anchored "
                "outside Redis"
            )
        if problem is not None:
            return AuditReport(
                ok=False,
                entries=self.seq,
                head_hash=self.prev,
                first_bad_seq=self.seq + 1,
                problem=problem + " (entries removed from or rewritten at the end)",
                anchored_at=anchored,
            )
        return AuditReport(ok=True, entries=self.seq, head_hash=self.prev, anchored_at=anchored)


async def verify(
    redis: Redis,
    key: bytes,
    *,
    anchor: Anchor | None = None,
    keys: tuple[str, str] = (STREAM_KEY, HEAD_KEY),
) -> AuditReport:
    """Walk the chain from the first entry and compare its end with the head and with
    ``anchor`` (read it *before* calling, so that it cannot be newer than the chain): the
    first entry that is missing, altered, forged or out of place, or an end short of the
    head or the anchor (truncation), fails the report."""
    stream, head_key = keys
    check, start = ChainCheck(key, anchor), "-"
    while True:
        rows: Any = await redis.xrange(stream, min=start, max="+", count=PAGE)
        for entry_id, fields in rows:
            body, stored = fields.get(b"entry"), text_of(fields.get(b"hash", b""))
            if not check.step(text_of(entry_id), body, stored):
                return check.finish("", 0)
        if len(rows) < PAGE:
            break
        start = "(" + text_of(rows[-1][0])
    head: Any = await redis.hmget(head_key, "hash", "count")
    return check.finish(text_of(head[0] or b""), int(head[1] or 0))


async def verify_anchored(redis: Redis, settings: Any) -> AuditReport:
    """:func:`verify` of the deployment's log against its published anchor; a log whose
    anchor cannot be read fails (its end cannot be vouched for)."""
    key = settings.audit_key.get_secret_value().encode()
    try:
        anchor = await asyncio.to_thread(read_anchor, settings, STREAM_KEY)
    except Exception as exc:
        report = await verify(redis, key)
        problem = f"the anchor topic {settings.topic_audit_anchor} cannot be read: {exc}"
        return report.model_copy(update={"ok": False, "problem": problem[:500]})
    report = await verify(redis, key, anchor=anchor)
    if report.ok and report.entries and anchor is None:
        problem = "no anchor was published for a non-empty log: its end cannot be checked"
        return report.model_copy(update={"ok": False, "problem": problem})
    return report


# -- FastAPI dependencies -----------------------------------------------------------------


async def _jitter(attempt: int) -> None:
    """A random pause after a lost append, growing with the attempts."""
    await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))


def _header_text(value: str) -> str:
    """An ``X-Purpose`` header: percent-encoded UTF-8, or raw UTF-8 read as Latin-1."""
    text = unquote(value)
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


async def stated_purpose(
    purpose: Annotated[
        str | None,
        Query(max_length=MAX_PURPOSE, description="why (recorded in the audit log)"),
    ] = None,
    x_purpose: Annotated[
        str | None,
        Header(
            alias="X-Purpose",
            max_length=3 * MAX_PURPOSE,
            description="why, percent-encoded UTF-8 (recorded in the audit log)",
        ),
    ] = None,
) -> str | None:
    """The caller's stated purpose: the ``purpose`` query field, else ``X-Purpose``."""
    if purpose:
        return purpose
    if x_purpose:
        return _header_text(x_purpose)[:MAX_PURPOSE] or None
    return None


AuditDep = Annotated[AuditLog, Depends(held("audit", AuditLog))]
Purpose = Annotated[str | None, Depends(stated_purpose)]
