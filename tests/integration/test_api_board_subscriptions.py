"""A department's subscriptions decide what reaches its live board, as they do its Kafka
topic and its webhooks (alerts.md: "Its alerts go to riskwire.alerts.<department>, to its
WebSocket board and to its webhooks")."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest
import websockets

from alerts.store import OPEN_KEY
from core.redis_client import sync_client
from core.settings import Settings
from simulate.factory import EventFactory

from .api_kit import Accounts, client, produce
from .conftest import Proc

pytestmark = [pytest.mark.redis, pytest.mark.kafka, pytest.mark.e2e]


async def test_a_subscription_filters_the_departments_live_board(
    settings: Settings, worker: Proc, api_server: str
) -> None:
    people = Accounts(settings, api_server)
    admin = people.make("drc", "admin", "发改委管理员")
    officer = people.make("drc", "duty_officer", "发改委值班员")
    # drc owns litigation_surge and grade_downgrade; it wants only the first on its board.
    with client(api_server, admin) as c:
        made = c.post("/api/v1/subscriptions", json={"rule_ids": ["litigation_surge"]})
        assert made.status_code in (200, 201), made.text
        sub_id = made.json()["id"]
    try:
        await asyncio.sleep(6)  # the API's subscription cache re-reads every 5 s
        async with httpx.AsyncClient(base_url=api_server, headers=officer.headers) as http:
            ticket = (await http.post("/api/v1/ws-tickets")).json()["ticket"]
        f = EventFactory(source="drc-board", seed=606)
        firm = f.uscc()
        url = api_server.replace("http", "ws", 1) + f"/ws/alerts?ticket={ticket}"
        async with websockets.connect(url) as ws:
            # Three cases as defendant (litigation_surge) and arrears: the grade falls to C
            # (grade_downgrade, also routed to drc, but not subscribed).
            produce(
                settings,
                [
                    f.registered(firm),
                    *(f.case_filed(firm) for _ in range(3)),
                    f.tax_arrears(firm, 500_000.0),
                ],
            )
            seen = await _alerts_until(ws, "litigation_surge", firm)
            downgrade = f"grade_downgrade:enterprise:{firm}".encode()
            client_redis = sync_client(settings.redis_url)
            for _ in range(300):  # up to 60 s
                if client_redis.hexists(OPEN_KEY, downgrade):
                    break
                await asyncio.sleep(0.2)
            assert client_redis.hexists(OPEN_KEY, downgrade), "the downgrade fired"
            seen += await _drain(ws, seconds=3)
        rules = {a["rule_id"] for a in seen if a["subject"]["id"] == firm}
        assert "litigation_surge" in rules
        assert "grade_downgrade" not in rules
    finally:
        with client(api_server, admin) as c:
            c.delete(f"/api/v1/subscriptions/{sub_id}")


async def _alerts_until(ws: Any, rule_id: str, firm: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(90):
        while True:
            message = orjson.loads(await ws.recv())
            if message["type"] != "alert":
                continue
            seen.append(message["alert"])
            if message["alert"]["rule_id"] == rule_id and message["alert"]["subject"]["id"] == firm:
                return seen


async def _drain(ws: Any, seconds: float) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(seconds):
            while True:
                message = orjson.loads(await ws.recv())
                if message["type"] == "alert":
                    seen.append(message["alert"])
    except TimeoutError:
        pass
    return seen
