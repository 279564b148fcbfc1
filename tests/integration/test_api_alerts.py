"""Alerts through the real API process: a department sees and acts on only the alerts
routed to it (another's answers 404, as an unknown id does); the lifecycle allows valid
transitions only, records who, when and the note, and publishes each change on the live
feed with a higher revision; the listing filters and pages."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
import websockets
from ulid import ULID

from core.settings import Settings

from .api_kit import Accounts, Who, client, new_alert, seed_alert, store_alert

pytestmark = [pytest.mark.redis, pytest.mark.kafka]


@pytest.fixture(scope="module")
def samr(people: Accounts) -> Who:
    return people.make("samr", "duty_officer", "市场监管值班员")


@pytest.fixture(scope="module")
def tax(people: Accounts) -> Who:
    return people.make("tax", "duty_officer", "税务值班员")


def test_another_departments_alert_is_not_found(
    settings: Settings, api_server: str, people: Accounts, samr: Who, tax: Who
) -> None:
    alert = seed_alert(settings, ["samr", "qianhai-authority"], rule_id="same_address_cluster")
    path = f"/api/v1/alerts/{alert.alert_id}"
    with client(api_server, tax) as c:
        unknown = c.get("/api/v1/alerts/01NOSUCHALERT00000000000000")
        assert unknown.status_code == 404
        hidden = c.get(path)
        assert hidden.status_code == 404
        assert hidden.json() == unknown.json()
        for action in ("acknowledge", "resolve", "dismiss"):
            assert c.post(f"{path}/{action}", json={"note": "越权"}).status_code == 404
        assigned = c.post(f"{path}/assign", json={"account_id": tax.account_id})
        assert assigned.status_code in (404, 422)
        listed = c.get("/api/v1/alerts", params={"uscc": alert.subject.id}).json()["items"]
        assert listed == []
    with client(api_server, samr) as c:
        assert c.get(path).json()["status"] == "open"
        listed = c.get("/api/v1/alerts", params={"uscc": alert.subject.id}).json()["items"]
        assert [a["alert_id"] for a in listed] == [alert.alert_id]
    with client(api_server, people.oversight) as c:
        assert c.get(path).status_code == 200


def test_oversight_admins_see_everything_and_oversight_officers_their_own(
    settings: Settings, api_server: str, people: Accounts
) -> None:
    only_samr = seed_alert(settings, ["samr"])
    with client(api_server, people.oversight) as c:
        assert c.get(f"/api/v1/alerts/{only_samr.alert_id}").status_code == 200
    officer = people.make("qianhai-authority", "duty_officer")
    with client(api_server, officer) as c:
        assert c.get(f"/api/v1/alerts/{only_samr.alert_id}").status_code == 404


def _ticket(base: str, who: Who) -> str:
    reply = httpx.post(f"{base}/api/v1/ws-tickets", headers=who.headers)
    reply.raise_for_status()
    return str(reply.json()["ticket"])


async def _next_change(ws: Any, alert_id: str, within_s: float = 20) -> dict[str, Any]:
    async with asyncio.timeout(within_s):
        while True:
            message = orjson.loads(await ws.recv())
            if message["type"] == "alert" and message["alert"]["alert_id"] == alert_id:
                return dict(message)


async def test_the_lifecycle_is_published_with_higher_revisions(
    settings: Settings, api_server: str, people: Accounts, samr: Who, tax: Who
) -> None:
    alert = new_alert(["samr", "qianhai-authority"], rule_id="unreachable_contact")
    analyst = people.make("samr", "analyst", "张分析")
    ws_url = api_server.replace("http", "ws", 1) + f"/ws/alerts?ticket={_ticket(api_server, samr)}"
    path = f"/api/v1/alerts/{alert.alert_id}"
    purpose = {"X-Purpose": quote("电话核实企业经营状态")}
    async with (
        websockets.connect(ws_url) as ws,
        httpx.AsyncClient(base_url=api_server, headers=samr.headers, timeout=30) as c,
    ):
        first_seq = await store_alert(settings, alert)
        created = await _next_change(ws, alert.alert_id)
        assert (created["change"], created["seq"]) == ("created", first_seq)

        acked = await c.post(f"{path}/acknowledge", json={"note": "已查看"}, headers=purpose)
        assert acked.status_code == 200, acked.text
        body = acked.json()
        assert body["status"] == "acknowledged"
        assert body["revision"] == 2
        [entry] = body["timeline"]
        assert entry["by"]["account_id"] == samr.account_id
        assert entry["note"] == "已查看"
        change = await _next_change(ws, alert.alert_id)
        assert change["change"] == "status"
        assert change["seq"] > created["seq"]
        assert change["alert"]["revision"] == 2
        assert change["alert"]["status"] == "acknowledged"

        again = await c.post(f"{path}/acknowledge")
        assert again.status_code == 409
        assert "不能确认" in again.json()["detail"]

        elsewhere = await c.post(f"{path}/assign", json={"account_id": tax.account_id})
        assert elsewhere.status_code == 422
        nobody = await c.post(f"{path}/assign", json={"account_id": "01NOBODY"})
        assert nobody.status_code == 422
        assigned = await c.post(
            f"{path}/assign", json={"account_id": analyst.account_id, "note": "请现场核查"}
        )
        assert assigned.status_code == 200
        assert assigned.json()["assignee"]["account_id"] == analyst.account_id
        change = await _next_change(ws, alert.alert_id)
        assert (change["alert"]["status"], change["alert"]["revision"]) == ("assigned", 3)

        resolved = await c.post(f"{path}/resolve", json={"note": "已整改"})
        assert resolved.status_code == 200
        assert resolved.json()["revision"] == 4
        change = await _next_change(ws, alert.alert_id)
        assert (change["alert"]["status"], change["alert"]["revision"]) == ("resolved", 4)
        assert [e["action"] for e in change["alert"]["timeline"]] == [
            "acknowledge",
            "assign",
            "resolve",
        ]
        assert (await c.post(f"{path}/dismiss")).status_code == 409
        assert (await c.post(f"{path}/resolve")).status_code == 409
        extra = await c.post(f"{path}/dismiss", json={"note": "x", "unknown": 1})
        assert extra.status_code == 422

    with client(api_server, people.oversight) as admin:
        entries = admin.get("/api/v1/audit", params={"target": alert.alert_id}).json()["items"]
    actions = [(e["action"], e["account_id"]) for e in reversed(entries)]
    assert actions == [
        ("alert.acknowledge", samr.account_id),
        ("alert.assign", samr.account_id),
        ("alert.resolve", samr.account_id),
    ]
    assert entries[-1]["purpose"] == "电话核实企业经营状态"


def test_the_listing_filters_and_pages(settings: Settings, api_server: str, samr: Who) -> None:
    rule_id = f"test_{str(ULID()).lower()}"
    alerts = [seed_alert(settings, ["samr"], rule_id=rule_id) for _ in range(5)]
    newest_first = sorted((a.alert_id for a in alerts), reverse=True)
    with client(api_server, samr) as c:
        c.post(f"/api/v1/alerts/{alerts[0].alert_id}/dismiss").raise_for_status()
        seen, cursor = [], None
        while True:
            params: dict[str, Any] = {"rule_id": rule_id, "limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = c.get("/api/v1/alerts", params=params).json()
            seen += [a["alert_id"] for a in page["items"]]
            cursor = page["next"]
            if cursor is None:
                break
        assert seen == newest_first
        opened = c.get("/api/v1/alerts", params={"rule_id": rule_id, "status": "open"}).json()
        assert len(opened["items"]) == 4
        high = c.get("/api/v1/alerts", params={"rule_id": rule_id, "severity": "low"}).json()
        assert high["items"] == []
        naive = c.get("/api/v1/alerts", params={"rule_id": rule_id, "since": "2020-01-01T00:00"})
        assert naive.status_code == 200
        assert len(naive.json()["items"]) == 5
        later = c.get("/api/v1/alerts", params={"rule_id": rule_id, "since": "2999-01-01T00:00Z"})
        assert later.json()["items"] == []
        assert c.get("/api/v1/alerts", params={"status": "nonsense"}).status_code == 422
