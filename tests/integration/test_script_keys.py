"""Every key an alert-store or delivery-queue Lua script touches is one it declared in
``KEYS``.

Redis Cluster requires it (a script runs on the node of its declared keys' slot; a key it
makes up is an undeclared access even when it shares the hash tag), but a real cluster
only refuses a made-up key in *another* slot, so running the suites on one does not show
it. Here ``MONITOR`` on the real Redis watches the commands each script runs: the store's
upsert (a new alert, status changes that move it between listing indices), a listing, the
backfill and the retention sweep; every step of the webhook delivery queue (its
per-endpoint due sets); ``COMMAND GETKEYS`` names each command's keys, and
every one must be among the keys its ``EVALSHA`` declared.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis as SyncRedis

from alerts.dedup import Change
from alerts.index import AlertQuery, list_page, reindex
from alerts.lifecycle import transition
from alerts.notify.base import DeliveryState
from alerts.notify.queue import Attempt, QueuedDelivery, RedisDeliveryQueue
from alerts.relay import GROUP
from alerts.retention import AlertSweeper
from alerts.store import FEED_KEY, AlertStore, Upsert
from core.clock import FakeClock
from core.redis_client import is_cluster_url, redis_client
from streams.alert import Actor, Alert, AlertAction

from ..unit.test_deliveries import queued
from .api_kit import new_alert
from .conftest import claim_redis_db

pytestmark = [pytest.mark.redis]

LOCK = "rw:test:script-keys:lock"
OFFICER = Actor(account_id="a1", name="值班员", department="samr")
_QUOTED = re.compile(rb'"((?:[^"\\]|\\.)*)"')
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"a": b"\a", b"b": b"\b"}


def _unrepr(text: bytes) -> bytes:
    """The bytes MONITOR printed with ``sdscatrepr``."""
    out, i = bytearray(), 0
    while i < len(text):
        if text[i : i + 1] != b"\\":
            out += text[i : i + 1]
            i += 1
        elif text[i + 1 : i + 2] == b"x":
            out.append(int(text[i + 2 : i + 4], 16))
            i += 4
        else:
            out += _ESCAPES.get(text[i + 1 : i + 2], text[i + 1 : i + 2])
            i += 2
    return bytes(out)


@dataclass
class Call:
    declared: set[bytes]
    touched: list[list[bytes]] = field(default_factory=list)  # each command's words


def _calls(lines: list[bytes], db: int) -> list[Call]:
    """The script calls on database ``db``, each with the commands it ran (MONITOR prints
    a script's commands, tagged ``lua``, right after the call)."""
    calls: list[Call] = []
    for line in lines:
        head, _, rest = line.partition(b"] ")
        source = head.rpartition(b"[")[2].split(b" ")
        if int(source[0]) != db:
            continue
        words = [_unrepr(w) for w in _QUOTED.findall(rest)]
        if source[1] == b"lua":
            assert calls, f"a script command without its call: {line!r}"
            calls[-1].touched.append(words)
        elif words and words[0].upper() in (b"EVALSHA", b"EVAL"):
            calls.append(Call(set(words[3 : 3 + int(words[2])])))
    return calls


class Watch:
    """MONITOR of one Redis server, in a thread, until :meth:`stop`."""

    def __init__(self, url: str) -> None:
        self._client = SyncRedis.from_url(url)
        self.lines: list[bytes] = []
        self._monitor = self._client.monitor()
        self._conn = self._monitor.__enter__().connection
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while True:
                reply = self._conn.read_response()
                self.lines.append(reply if isinstance(reply, bytes) else str(reply).encode())
        except Exception:  # the connection closed by stop()
            return

    def stop(self) -> list[bytes]:
        self._conn.disconnect()
        self._thread.join(timeout=10)
        self._client.close()
        return self.lines


@pytest.fixture
def own_db(services: dict[str, str]) -> Iterator[tuple[str, int]]:
    """A database of this test's own on the stack's single Redis (MONITOR watches one
    server; the cluster half of the suites runs these scripts on a real cluster)."""
    if is_cluster_url(services["redis"]):
        single = os.environ.get("RISKWIRE_REDIS_URL", "redis://127.0.0.1:6379/0")
        services = {**services, "redis": single}
    url = claim_redis_db(
        services,
        uuid.uuid4().hex[:8],
        marker="rw:test:script-keys",
        lock=LOCK,
        dbs=(12, 7, 6, 5),
    )
    yield url, int(url.rpartition("/")[2])
    client = SyncRedis.from_url(url)
    client.delete(LOCK)  # the next run may take this database again at once
    client.close()


async def _exercise(url: str) -> None:
    """Every alert-store script, with status changes that move an alert between indices."""
    redis = redis_client(url)
    store, t0 = AlertStore(redis), datetime(2026, 1, 5, 8, tzinfo=UTC)
    try:
        a = new_alert(["samr", "qianhai-authority"]).model_copy(
            update={"created_at": t0, "updated_at": t0}
        )
        b = new_alert(["samr"], rule_id="shell_company")
        assert None not in await store.upsert([Upsert(x, 0, Change.CREATED, 0) for x in (a, b)])
        acked = transition(a, AlertAction.ACKNOWLEDGE, by=OFFICER, now=t0)
        done = transition(acked, AlertAction.RESOLVE, by=OFFICER, now=t0)
        # one batch writing the same alert twice: the second leaves what the first joined
        replies = await store.upsert(
            [
                Upsert(acked, a.revision, Change.STATUS, 0),
                Upsert(done, acked.revision, Change.STATUS, 0),
            ]
        )
        assert None not in replies
        page = await list_page(
            redis, AlertQuery("samr", status="resolved", uscc=a.enterprises[0]), after=None, limit=5
        )
        assert len(page.docs) == 1
        for key in [k async for k in redis.scan_iter(match="rw:{alerts}:ix:*")]:
            await redis.delete(key)
        assert sum([n async for n in reindex(redis)]) == 2
        await redis.xgroup_create(FEED_KEY, GROUP, id="$")  # the relay has published all
        clock = FakeClock(t0 + timedelta(days=400))
        assert await AlertSweeper(redis, clock, retention=timedelta(days=180)).tick() == 1
        after = await list_page(redis, AlertQuery("samr"), after=None, limit=5)
        assert [Alert.model_validate_json(d).alert_id for d in after.docs] == [b.alert_id]
    finally:
        await redis.aclose()


def _undeclared(url: str, calls: list[Call], marker: bytes) -> tuple[list[str], int]:
    """The keys the scripts touched without declaring them, and how many commands touched
    a key containing ``marker`` (proof the scripts were watched at work)."""
    getkeys = SyncRedis.from_url(url)
    undeclared: list[str] = []
    marked = 0
    try:
        for call in calls:
            for words in call.touched:
                named = getkeys.execute_command("COMMAND GETKEYS", *words)
                keys = {k.encode() if isinstance(k, str) else k for k in named}
                marked += any(marker in k for k in keys)
                undeclared += [f"{words[0]!r} {k!r}" for k in keys - call.declared]
    finally:
        getkeys.close()
    return sorted(set(undeclared)), marked


async def _assert_declared(
    own_db: tuple[str, int], exercise: Callable[[str], Awaitable[None]], marker: bytes
) -> None:
    """Under MONITOR, ``exercise`` the scripts: every key they touch is one they declare in
    KEYS, and more than 10 commands touched a key containing ``marker`` (proof the scripts
    were watched at work)."""
    url, db = own_db
    watch = Watch(url)
    try:
        await exercise(url)
    finally:
        lines = watch.stop()
    undeclared, marked = _undeclared(url, _calls(lines, db), marker)
    assert marked > 10, f"the scripts were not watched at work ({len(lines)} lines)"
    assert not undeclared, f"keys touched but not in KEYS: {undeclared}"


async def test_every_key_an_alert_script_touches_is_declared(own_db: tuple[str, int]) -> None:
    await _assert_declared(own_db, _exercise, b":ix:")


def _attempt(d: QueuedDelivery, state: DeliveryState) -> Attempt:
    return Attempt(
        delivery_id=d.id,
        alert_id=d.alert_id,
        revision=d.revision,
        change=d.change,
        attempt=d.attempts + 1,
        at=datetime(2026, 3, 1, 8, tzinfo=UTC),
        state=state,
    )


async def _exercise_queue(url: str) -> None:
    """Every delivery-queue script: enqueue for two endpoints, claim, a retry, a dead
    letter and its replay, a delivery, and the waiting count."""
    redis = redis_client(url)
    q, t0 = RedisDeliveryQueue(redis, namespace="wh-keys"), 1_772_352_000_000
    try:
        a, b, c = queued("01EPA", 1), queued("01EPA", 2), queued("01EPB", 1)
        assert await q.enqueue([a, b, c], now_ms=t0) == 3
        args = {"lease_ms": 60_000, "limit": 10, "per_endpoint": 10, "per_department": 10}
        claimed = await q.claim(now_ms=t0, in_flight={}, department_in_flight={}, **args)
        assert {d.id for d in claimed} == {a.id, b.id, c.id}
        await q.retry(a, at_ms=t0 + 5, attempt=_attempt(a, DeliveryState.RETRYING))
        await q.finish(b, now_ms=t0, attempt=_attempt(b, DeliveryState.DEAD_LETTERED))
        await q.finish(c, now_ms=t0, attempt=_attempt(c, DeliveryState.DELIVERED))
        assert await q.replay("01EPA", None, now_ms=t0 + 1) == 1
        assert await q.waiting() == {"01EPA": (2, t0 + 1)}
        again = await q.claim(now_ms=t0 + 5, in_flight={}, department_in_flight={}, **args)
        assert {d.id for d in again} == {a.id, b.id}
    finally:
        await redis.aclose()


async def test_every_key_a_webhook_queue_script_touches_is_declared(
    own_db: tuple[str, int],
) -> None:
    await _assert_declared(own_db, _exercise_queue, b":due:v1:")
