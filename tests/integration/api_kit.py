"""Helpers for the API integration tests (``test_api_*.py``): accounts made the way an
operator makes them, authenticated clients, alerts written through the real store, and
events produced to the real broker."""

from __future__ import annotations

import asyncio
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from ulid import ULID

from alerts.dedup import Change
from alerts.store import AlertStore, Upsert
from core.redis_client import redis_client
from core.settings import Settings
from simulate import samples
from streams.alert import Alert, AlertSubject, Evidence, Severity

from .conftest import Proc, child_env
from .feed_kit import produce as produce  # the API tests feed departments too


def cli(
    settings: Settings, *args: str, check: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=child_env(settings, **env),
        capture_output=True,
        text=True,
        check=check,
        timeout=90,
    )


def cli_token(settings: Settings, department: str, role: str, name: str = "测试") -> str:
    out = cli(
        settings, "accounts", "create", "--department", department, "--role", role, "--name", name
    )
    return out.stdout.strip().splitlines()[-1]


@dataclass(frozen=True)
class Who:
    account_id: str
    token: str
    department: str
    role: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def client(base: str, who: Who | None = None, **headers: str) -> httpx.Client:
    merged = {**(who.headers if who else {}), **headers}
    return httpx.Client(base_url=base, headers=merged, timeout=60)


class Accounts:
    """Accounts for a test module: an oversight admin made with the CLI, the others made
    by it through ``POST /api/v1/accounts``."""

    def __init__(self, settings: Settings, base: str) -> None:
        self.base = base
        token = cli_token(settings, "qianhai-authority", "admin", "前海管理员")
        with client(base, Who("", token, "qianhai-authority", "admin")) as c:
            listed = c.get("/api/v1/accounts", params={"department": "qianhai-authority"})
            listed.raise_for_status()
            newest = max(listed.json()["items"], key=lambda a: a["account_id"])
        self.oversight = Who(newest["account_id"], token, "qianhai-authority", "admin")

    def make(self, department: str, role: str, name: str = "测试人员") -> Who:
        with client(self.base, self.oversight) as c:
            reply = c.post(
                "/api/v1/accounts", json={"name": name, "role": role, "department": department}
            )
            reply.raise_for_status()
            body = reply.json()
        return Who(body["account_id"], body["token"], department, role)


def new_alert(
    departments: list[str], *, rule_id: str = "tax_arrears", uscc: str | None = None
) -> Alert:
    now = datetime.now(UTC)
    subject = uscc or samples.make_uscc(random.Random())
    return Alert(
        alert_id=str(ULID()),
        fingerprint=f"{rule_id}:enterprise:{subject}",
        rule_id=rule_id,
        rule_version=1,
        severity=Severity.HIGH,
        subject=AlertSubject(kind="enterprise", id=subject),
        enterprises=[subject],
        title="测试告警",
        explanation="测试告警：欠缴税款300,000元",
        evidence=[
            Evidence(
                event_id=f"ev-{ULID()}", source="test", type="tax.arrears", time=now, fact="欠税"
            )
        ],
        departments=departments,
        event_time=now,
        created_at=now,
        updated_at=now,
    )


async def store_alert(settings: Settings, alert: Alert) -> int:
    redis = redis_client(settings.redis_url)
    try:
        [seq] = await AlertStore(redis).upsert([Upsert(alert, 0, Change.CREATED, 0)])
    finally:
        await redis.aclose()
    assert seq is not None
    return seq


def seed_alert(settings: Settings, departments: list[str], **kw: Any) -> Alert:
    alert = new_alert(departments, **kw)
    asyncio.run(store_alert(settings, alert))
    return alert


def eventually(check: Callable[[], Any], *, timeout: float = 60, what: str = "") -> Any:
    """``check()``'s first truthy answer, polling; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = check()
        if answer:
            return answer
        time.sleep(0.3)
    raise AssertionError(f"{what or 'condition'}: not within {timeout}s")


_RULES_APPLIED = re.compile(rb"rule overrides applied.*?version\W+(\d+)")


def log_size(proc: Proc) -> int:
    """Where ``proc``'s log ends now: later lines are what it logs from here on."""
    return proc.log.stat().st_size if proc.log.exists() else 0


def wait_for_rules(worker: Proc, version: int, *, since: int, timeout: float = 60) -> None:
    """Until the running worker logs (after offset ``since``) that it evaluates with rule
    overrides ``version`` or newer: it polls for changes on a timer, and a busy machine
    can make that late."""

    def applied() -> bool:
        with worker.log.open("rb") as log:
            log.seek(since)
            return any(int(v) >= version for v in _RULES_APPLIED.findall(log.read()))

    eventually(applied, timeout=timeout, what=f"the worker applies rule overrides {version}")
