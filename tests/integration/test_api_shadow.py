"""Shadow rules through the real API and the real worker: only platform admins load, read,
drop or promote a candidate, every body is checked exactly as the rules file and bounded,
each step is audited; and while a feed that triggers the candidate runs, the candidate
never produces a message on any output (the Kafka alert topics, a webhook, the board's
WebSocket feed, the alert store), though its diff counts every alert it would add."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import orjson
import pytest
import websockets

from core.settings import Settings
from simulate.factory import EventFactory

from ..unit.webhook_receiver import Receiver
from .api_kit import Accounts, Who, client, eventually, log_size, produce
from .conftest import Proc
from .feed_kit import read_topic

pytestmark = [pytest.mark.redis, pytest.mark.kafka, pytest.mark.e2e]

TOML = {"Content-Type": "application/toml"}
LOWER_TAX = "[rules.tax_arrears]\nmin_arrears_cny = 2000\n"
_SHADOW_APPLIED = re.compile(rb"shadow rules.*?generation\W+(\d+)")


@pytest.fixture(scope="module")
def people(settings: Settings, api_server: str, worker: Proc) -> Accounts:
    return Accounts(settings, api_server)


@pytest.fixture
def admin(people: Accounts, api_server: str) -> Iterator[Who]:
    who = people.oversight
    with client(api_server, who) as c:
        c.delete("/api/v1/rules/shadow")  # no candidate left over from another test
    yield who
    with client(api_server, who) as c:
        c.delete("/api/v1/rules/shadow")


def wait_for_shadow(worker: Proc, generation: int, *, since: int) -> None:
    def applied() -> bool:
        with worker.log.open("rb") as log:
            log.seek(since)
            return any(int(g) >= generation for g in _SHADOW_APPLIED.findall(log.read()))

    eventually(applied, timeout=60, what=f"the worker runs shadow generation {generation}")


def test_only_platform_admins_touch_the_shadow(
    api_server: str, people: Accounts, admin: Who
) -> None:
    samr_admin = people.make("samr", "admin", "市场监管管理员")
    officer = people.make("qianhai-authority", "duty_officer", "前海值班员")
    for who in (samr_admin, officer):
        with client(api_server, who) as c:
            assert c.put("/api/v1/rules/shadow", content=LOWER_TAX, headers=TOML).status_code == 403
            assert c.get("/api/v1/rules/shadow").status_code == 403
            assert c.get("/api/v1/rules/shadow/diff").status_code == 403
            assert c.post("/api/v1/rules/shadow/promote", json={}).status_code == 403
            assert c.delete("/api/v1/rules/shadow").status_code == 403
    with client(api_server) as c:
        assert c.get("/api/v1/rules/shadow/diff").status_code == 401
    with client(api_server, admin) as c:
        assert c.get("/api/v1/rules/shadow").status_code == 404  # nothing was loaded


def test_bad_bodies_are_refused(settings: Settings, api_server: str, admin: Who) -> None:
    with client(api_server, admin) as c:
        for body, headers, code, words in [
            ("[rules.tax_arrears]\nmin_arrears = 1\n", TOML, 422, "line 2: unknown key"),
            ("[rules.tax_arrears]\nmin_arrears_cny = 5\n", TOML, 422, "must be between"),
            ("[rules.nope]\n", TOML, 422, "unknown rule id"),
            ("[weights]\nx = 1\n", TOML, 422, "unknown top-level key"),
            ("[rules.tax_arrears", TOML, 422, "not valid TOML"),
            ('{"rules": {"tax_arrears": {"enabled": 1}}}', {}, 422, "true or false"),
            (b"\xff\xfe", TOML, 422, "UTF-8"),
            (LOWER_TAX, {"Content-Type": "application/xml"}, 415, "TOML"),
        ]:
            headers = headers or {"Content-Type": "application/json"}
            reply = c.put("/api/v1/rules/shadow", content=body, headers=headers)
            assert reply.status_code == code, (body, reply.text)
            assert words in reply.json()["detail"], reply.text
        big = "# " + "x" * settings.shadow_max_body_bytes + "\n"
        assert c.put("/api/v1/rules/shadow", content=big, headers=TOML).status_code == 413
        assert c.get("/api/v1/rules/shadow").status_code == 404  # nothing was stored
        assert c.post("/api/v1/rules/shadow/promote", json={}).status_code == 404
        assert c.post("/api/v1/rules/shadow/promote", json={"x": 1}).status_code == 422
        assert c.get("/api/v1/rules/shadow/diff", params={"limit": 101}).status_code == 422
        assert c.get("/api/v1/rules/shadow/diff", params={"rule_id": "nope"}).status_code == 422


def test_load_drop_and_promote_are_audited(api_server: str, admin: Who, worker: Proc) -> None:
    with client(api_server, admin) as c:
        loaded = c.put("/api/v1/rules/shadow", content=LOWER_TAX, headers=TOML)
        assert loaded.status_code == 200, loaded.text
        body = loaded.json()
        assert body["thresholds"]["tax_arrears"]["min_arrears_cny"] == 2000.0
        assert body["thresholds"]["litigation_surge"]["min_cases"] >= 2  # defaults elsewhere
        assert c.delete("/api/v1/rules/shadow").status_code == 204
        assert c.delete("/api/v1/rules/shadow").status_code == 404
        again = c.put(
            "/api/v1/rules/shadow",
            json={"rules": {"unreachable_contact": {"min_failures": 5}}},
            headers={"X-Purpose": "review"},
        ).json()
        stale = c.post("/api/v1/rules/shadow/promote", json={"generation": again["generation"] - 1})
        assert stale.status_code == 409
        before = c.get("/api/v1/rules").json()["config_version"]
        done = c.post("/api/v1/rules/shadow/promote", json={"generation": again["generation"]})
        assert done.status_code == 200, done.text
        assert done.json()["config_version"] == before + 1
        assert done.json()["overrides"] == {"unreachable_contact": {"min_failures": 5}}
        rules = {r["rule_id"]: r for r in c.get("/api/v1/rules").json()["items"]}
        assert rules["unreachable_contact"]["thresholds"]["min_failures"] == 5
        assert c.get("/api/v1/rules/shadow").status_code == 404  # cleared in the same step
        entries = c.get("/api/v1/audit", params={"limit": 20}).json()["items"]
        # Put the live rules back.
        reset = c.put("/api/v1/rules/unreachable_contact", json={"thresholds": {}})
        assert reset.status_code == 200
    mine = [e for e in entries if e["action"].startswith("rule.shadow")]
    assert [e["action"] for e in mine[:4]] == [
        "rule.shadow_promote",
        "rule.shadow_load",
        "rule.shadow_drop",
        "rule.shadow_load",
    ]
    promote, load = mine[0], mine[1]
    assert promote["target"] == again["version"]
    assert promote["detail"]["after"] == {"unreachable_contact": {"min_failures": 5}}
    assert promote["detail"]["config_version"] == before + 1
    assert load["purpose"] == "review"
    assert load["detail"]["rules"] == {"unreachable_contact": {"min_failures": 5}}
    assert mine[2]["target"] == body["version"]


def test_a_candidate_with_grading_goes_live_under_its_own_version(
    api_server: str, admin: Who, worker: Proc
) -> None:
    candidate = {
        "rules": {"unreachable_contact": {"min_failures": 4}},
        "grading": {"cutoffs": {"b": 80.0, "c": 90.0}},
    }
    with client(api_server, admin) as c:
        live_before = c.get("/api/v1/rules").json()["rules_version"]
        loaded = c.put("/api/v1/rules/shadow", json=candidate)
        assert loaded.status_code == 200, loaded.text
        body = loaded.json()
        assert body["version"].startswith("r-")
        assert body["version"] != live_before
        assert body["grading"]["cutoffs"] == {"a": 20.0, "b": 80.0, "c": 90.0}
        diff = c.get("/api/v1/rules/shadow/diff", params={"grade_limit": 5}).json()
        assert diff["version"] == body["version"]
        assert diff["live_version"] == live_before
        assert sorted(diff["grades"]["matrix"]) == ["A", "B", "C", "D"]
        assert c.get("/api/v1/rules/shadow/diff", params={"grade_limit": 0}).status_code == 422
        bad = c.get("/api/v1/rules/shadow/diff", params={"grade_cursor": "x;y"})
        assert bad.status_code == 422
        since = log_size(worker)
        done = c.post("/api/v1/rules/shadow/promote", json={"generation": body["generation"]})
        assert done.status_code == 200, done.text
        assert done.json()["version"] == body["version"]
        assert c.get("/api/v1/rules").json()["rules_version"] == body["version"]
        wait_for_rules(worker, body["version"], since=since)
        # Back to the defaults: a candidate of nothing, promoted, clears the weights too.
        empty = c.put("/api/v1/rules/shadow", content="", headers=TOML).json()
        assert c.post("/api/v1/rules/shadow/promote", json={}).status_code == 200
        assert c.get("/api/v1/rules").json()["rules_version"] == empty["version"]


def wait_for_rules(worker: Proc, version: str, *, since: int) -> None:
    def applied() -> bool:
        with worker.log.open("rb") as log:
            log.seek(since)
            return version.encode() in log.read()

    eventually(applied, timeout=60, what=f"the worker runs rules {version}")


def _plain(f: EventFactory, uscc: str) -> dict[str, Any]:
    """A registration no live rule fires on: people of working age (a random birth date
    could make an officer 17 or 80, and abnormal_officer_age would fire, live)."""
    adult = date(1980, 6, 1)
    return f.registered(
        uscc, legal_rep=f.person(birth=adult), officers=[f.person("director", birth=adult)]
    )


async def _board_messages(
    base: str, token: str, into: list[dict[str, Any]], stop: asyncio.Event
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        reply = await c.post("/api/v1/ws-tickets", headers={"Authorization": f"Bearer {token}"})
        reply.raise_for_status()
    url = base.replace("http", "ws", 1) + f"/ws/alerts?ticket={reply.json()['ticket']}"
    async with websockets.connect(url) as ws:
        while not stop.is_set():
            try:
                into.append(orjson.loads(await asyncio.wait_for(ws.recv(), 0.5)))
            except TimeoutError:
                continue


async def test_a_shadow_version_never_reaches_any_output(
    settings: Settings, api_server: str, people: Accounts, admin: Who, worker: Proc
) -> None:
    tax_admin = people.make("tax", "admin", "税务管理员")
    officer = people.make("tax", "duty_officer", "税务值班员")
    receiver = Receiver()
    board: list[dict[str, Any]] = []
    stop = asyncio.Event()
    watching = asyncio.create_task(_board_messages(api_server, officer.token, board, stop))
    endpoint = ""
    try:
        with client(api_server, tax_admin) as c:
            made = c.post("/api/v1/webhooks", json={"url": receiver.url("/status/204")})
            assert made.status_code == 201, made.text
            endpoint = made.json()["id"]
        with client(api_server, admin) as c:
            since = log_size(worker)
            loaded = c.put("/api/v1/rules/shadow", content=LOWER_TAX, headers=TOML).json()
        await asyncio.to_thread(wait_for_shadow, worker, loaded["generation"], since=since)
        # Firms of their own: a seed another test uses would name firms it made risky.
        f = EventFactory(source="api-shadow-quiet", seed=uuid.uuid4().int % 2**32)
        quiet = [f.uscc() for _ in range(5)]  # arrears 5,000: only the shadow fires
        await asyncio.to_thread(
            produce,
            settings,
            [e for u in quiet for e in (_plain(f, u), f.tax_arrears(u, 5_000.0))],
        )

        def shadow_saw_all() -> bool:
            with client(api_server, admin) as c:
                diff = c.get("/api/v1/rules/shadow/diff", params={"rule_id": "tax_arrears"}).json()
            return {e["subject"]["id"] for e in diff["examples"]} >= set(quiet)

        await asyncio.to_thread(eventually, shadow_saw_all, timeout=90, what="the shadow diff")
        # Live fires on a firm produced after: everything before it on the feed is out.
        sentinel = f.uscc()
        await asyncio.to_thread(
            produce, settings, [f.registered(sentinel), f.tax_arrears(sentinel, 300_000.0)]
        )
        topics = [settings.topic_alerts, settings.department_topic("tax")]
        kafka = {
            t: await asyncio.to_thread(
                read_topic,
                settings,
                t,
                lambda seen: any(sentinel.encode() in m.value for m in seen),
                90,
            )
            for t in topics
        }
        await asyncio.to_thread(
            eventually,
            lambda: any(sentinel.encode() in r.body for r in receiver.requests),
            timeout=90,
            what="the sentinel's webhook",
        )
        await asyncio.to_thread(
            eventually,
            lambda: any(sentinel in orjson.dumps(m).decode() for m in board),
            timeout=60,
            what="the sentinel on the board feed",
        )
        with client(api_server, admin) as c:
            for uscc in quiet:
                assert c.get("/api/v1/alerts", params={"uscc": uscc}).json()["items"] == []
    finally:
        stop.set()
        await watching
        with client(api_server, tax_admin) as c:
            c.delete(f"/api/v1/webhooks/{endpoint}")
        receiver.close()
    for uscc in quiet:
        token = uscc.encode()
        for topic, messages in kafka.items():
            assert not [m for m in messages if token in m.value], (topic, uscc)
        assert not [r for r in receiver.requests if token in r.body], uscc
        assert not [m for m in board if uscc in orjson.dumps(m).decode()], uscc
