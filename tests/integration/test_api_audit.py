"""The audit log on the real Redis: concurrent appends from many tasks still make one
unbroken chain; a removed entry is found; ``riskwire audit verify`` exits 1 on a broken
chain and 0 on an intact one; admins read their department's entries, paged."""

from __future__ import annotations

import asyncio

import pytest
import redis as redis_sync
from redis.asyncio import Redis
from ulid import ULID

from api.accounts import Account, Role
from api.audit import HEAD_KEY, STREAM_KEY, AuditAction, AuditLog, verify
from core.settings import Settings

from .api_kit import Accounts, cli, client

pytestmark = [pytest.mark.redis, pytest.mark.kafka]

WHO = Account(account_id="01AUDITTEST", name="审计测试", department="samr", role=Role.ANALYST)


async def test_concurrent_appends_make_one_chain_and_a_removal_is_found(
    settings: Settings,
) -> None:
    tag = str(ULID())
    keys = (f"rw:{{audit-test-{tag}}}:v1", f"rw:{{audit-test-{tag}}}:head:v1")
    redis = Redis.from_url(settings.redis_url)
    try:
        logs = [AuditLog(redis, keys=keys) for _ in range(4)]  # as four API processes
        entries = await asyncio.gather(
            *(
                logs[i % 4].append(
                    WHO, AuditAction.ENTERPRISE_VIEW, f"target-{i}", purpose="并发测试"
                )
                for i in range(40)
            )
        )
        assert sorted(e.seq for e in entries) == list(range(1, 41))
        report = await verify(redis, keys)
        assert (report.ok, report.entries) == (True, 40)
        await redis.xdel(keys[0], "17-0")
        broken = await verify(redis, keys)
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
    r = redis_sync.Redis.from_url(settings.redis_url)
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
