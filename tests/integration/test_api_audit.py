"""The audit log on the real Redis and Kafka: concurrent appends from many tasks still make
one unbroken chain; a removed entry is found; ``riskwire audit verify`` exits 1 on a broken
chain and 0 on an intact one, and also when the tail was cut and the head reset to match
(against the head the API anchored on Kafka) or when a Redis writer forged an entry
without the audit key; admins read their department's entries, paged."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Iterator

import orjson
import pytest
import redis as redis_sync
from ulid import ULID

from api.accounts import Account, Role
from api.audit import HEAD_KEY, STREAM_KEY, AuditAction, AuditLog, verify
from core.redis_client import redis_client, sync_client
from core.settings import Settings

from .api_kit import Accounts, cli, client, eventually

pytestmark = [pytest.mark.redis, pytest.mark.kafka]

WHO = Account(account_id="01AUDITTEST", name="审计测试", department="samr", role=Role.ANALYST)


async def test_concurrent_appends_make_one_chain_and_a_removal_is_found(
    settings: Settings,
) -> None:
    tag = str(ULID())
    keys = (f"rw:{{audit-test-{tag}}}:v1", f"rw:{{audit-test-{tag}}}:head:v1")
    redis = redis_client(settings.redis_url)
    try:
        key = settings.audit_key.get_secret_value().encode()
        logs = [AuditLog(redis, key=key, keys=keys) for _ in range(4)]  # four API processes
        entries = await asyncio.gather(
            *(
                logs[i % 4].append(
                    WHO, AuditAction.ENTERPRISE_VIEW, f"target-{i}", purpose="并发测试"
                )
                for i in range(40)
            )
        )
        assert sorted(e.seq for e in entries) == list(range(1, 41))
        report = await verify(redis, key, keys=keys)
        assert (report.ok, report.entries) == (True, 40)
        await redis.xdel(keys[0], "17-0")
        broken = await verify(redis, key, keys=keys)
        assert (broken.ok, broken.first_bad_seq) == (False, 17)
    finally:
        await redis.delete(*keys)
        await redis.aclose()


def test_the_command_exits_1_on_a_broken_chain(settings: Settings, api_server: str) -> None:
    people = Accounts(settings, api_server)
    with client(api_server, people.oversight) as c:
        c.get("/api/v1/audit").raise_for_status()  # at least one entry (audit.read)
    intact = cli(settings, "audit", "verify", check=False)
    assert intact.returncode == 0, intact.stderr
    assert "intact" in intact.stdout
    r = sync_client(settings.redis_url)
    saved = r.dump(STREAM_KEY)
    assert saved is not None
    try:
        count = int(r.hget(HEAD_KEY, "count") or 0)
        r.xdel(STREAM_KEY, f"{count}-0")  # cut the last entry off
        broken = cli(settings, "audit", "verify", check=False)
        assert broken.returncode == 1
        assert f"BROKEN at entry {count}" in broken.stderr
    finally:
        r.restore(STREAM_KEY, 0, saved, replace=True)
    assert cli(settings, "audit", "verify", check=False).returncode == 0
    with client(api_server, people.oversight) as c:
        assert c.get("/api/v1/audit/verify").json()["ok"] is True


@contextlib.contextmanager
def _restored_after(r: redis_sync.Redis) -> Iterator[None]:
    """The session's audit log as it was, once the block has tampered with it."""
    saved_stream, saved_head = r.dump(STREAM_KEY), r.dump(HEAD_KEY)
    assert saved_stream is not None
    assert saved_head is not None
    try:
        yield
    finally:
        r.restore(STREAM_KEY, 0, saved_stream, replace=True)
        r.restore(HEAD_KEY, 0, saved_head, replace=True)


def _anchored(settings: Settings) -> int:
    """The entry count of the head: once ``riskwire audit verify`` says the anchor on
    Kafka reached it (the API publishes it just after the append)."""
    r = sync_client(settings.redis_url)
    count = int(r.hget(HEAD_KEY, "count") or 0)

    def caught_up() -> bool:
        out = cli(settings, "audit", "verify", check=False)
        return out.returncode == 0 and f"anchored at entry {count}" in out.stdout

    eventually(caught_up, timeout=60, what=f"the anchor reaches entry {count}")
    return count


def test_a_cut_tail_with_the_head_reset_is_detected(settings: Settings, api_server: str) -> None:
    people = Accounts(settings, api_server)
    with client(api_server, people.oversight) as c:
        for _ in range(3):
            c.get("/api/v1/audit", params={"limit": 1}).raise_for_status()
    count = _anchored(settings)
    r = sync_client(settings.redis_url)
    with _restored_after(r):  # what a Redis writer can do: cut the end, reset the head to match
        [(_, fields)] = r.xrange(STREAM_KEY, f"{count - 2}-0", f"{count - 2}-0")
        r.xdel(STREAM_KEY, f"{count - 1}-0", f"{count}-0")
        r.hset(HEAD_KEY, mapping={"hash": fields[b"hash"], "count": count - 2})
        broken = cli(settings, "audit", "verify", check=False)
        assert broken.returncode == 1, broken.stdout
        assert f"BROKEN at entry {count - 1}" in broken.stderr
        assert "anchored outside Redis" in broken.stderr
    assert cli(settings, "audit", "verify", check=False).returncode == 0


def test_an_entry_forged_by_a_redis_writer_is_detected(settings: Settings, api_server: str) -> None:
    people = Accounts(settings, api_server)
    with client(api_server, people.oversight) as c:
        c.get("/api/v1/audit", params={"limit": 1}).raise_for_status()
    eventually(lambda: cli(settings, "audit", "verify", check=False).returncode == 0, timeout=60)
    r = sync_client(settings.redis_url)
    count = int(r.hget(HEAD_KEY, "count") or 0)
    with _restored_after(r):  # a Redis writer appends an entry as the unkeyed chain did
        [(_, last)] = r.xrange(STREAM_KEY, f"{count}-0", f"{count}-0")
        prev = last[b"hash"].decode()
        doc = orjson.loads(last[b"entry"]) | {"seq": count + 1, "prev": prev, "target": "伪造"}
        body = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
        digest = hashlib.sha256(prev.encode() + body).hexdigest()
        r.xadd(STREAM_KEY, {"entry": body, "hash": digest}, id=f"{count + 1}-0")
        r.hset(HEAD_KEY, mapping={"hash": digest, "count": count + 1})
        broken = cli(settings, "audit", "verify", check=False)
        assert broken.returncode == 1, broken.stdout
        assert f"BROKEN at entry {count + 1}" in broken.stderr
    assert cli(settings, "audit", "verify", check=False).returncode == 0


def test_admins_read_their_departments_entries_paged(settings: Settings, api_server: str) -> None:
    people = Accounts(settings, api_server)
    samr_admin = people.make("samr", "admin")
    samr_analyst = people.make("samr", "analyst")
    tax_analyst = people.make("tax", "analyst")
    for who in (samr_analyst, tax_analyst):
        with client(api_server, who) as c:
            for _ in range(3):
                c.get("/api/v1/enterprises/91350100M000100Y43", headers={"X-Purpose": "paging"})
    with client(api_server, samr_admin) as c:
        seen, before = [], None
        while True:
            params: dict[str, object] = {"limit": 2, "action": "enterprise.view"}
            if before is not None:
                params["before"] = before
            page = c.get("/api/v1/audit", params=params).json()
            seen += page["items"]
            before = page["next"]
            if before is None:
                break
        assert {e["department"] for e in seen} == {"samr"}
        mine = [e for e in seen if e["account_id"] == samr_analyst.account_id]
        assert len(mine) == 3
        assert all(e["purpose"] == "paging" for e in mine)
        seqs = [e["seq"] for e in seen]
        assert seqs == sorted(seqs, reverse=True)
        assert len(set(seqs)) == len(seqs)
