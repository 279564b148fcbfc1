"""End to end on the real broker and Redis: a tax bureau admin (made with the CLI)
registers a webhook endpoint and a subscription through the API; the session worker
turns tax events from Kafka into an alert; the scheduler loops (as the worker will run
them) deliver it to a receiver on 127.0.0.1, signed as ``api.md`` says."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import subprocess
import sys

import orjson
import pytest
from redis.asyncio import Redis

from alerts.notify.wiring import build_scheduler
from core.clock import SystemClock
from core.settings import Settings
from simulate.factory import EventFactory

from ..unit.webhook_receiver import Received, Receiver
from .conftest import Proc, child_env
from .feed_kit import produce
from .webhooks_app import client, webhooks_app

pytestmark = [pytest.mark.kafka, pytest.mark.redis]

WITHIN_S = 60


def _cli_token(settings: Settings, department: str, role: str) -> str:
    options = ["--department", department, "--role", role, "--name", f"webhooks e2e {department}"]
    out = subprocess.run(
        [sys.executable, "-m", "cli", "accounts", "create", *options],
        env=child_env(settings),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return out.strip().splitlines()[-1]


async def _webhook_for(receiver: Receiver, path: str, uscc: str) -> Received:
    for _ in range(WITHIN_S * 20):
        for got in receiver.to(path):
            if orjson.loads(got.body)["alert"]["subject"]["id"] == uscc:
                return got
        await asyncio.sleep(0.05)
    raise AssertionError(f"no webhook for {uscc} within {WITHIN_S}s")


async def test_an_alert_from_kafka_arrives_as_a_signed_webhook(
    settings: Settings, worker: Proc, receiver: Receiver, redis: Redis
) -> None:
    token = _cli_token(settings, "tax", "admin")
    auth = {"Authorization": f"Bearer {token}"}
    app = webhooks_app(settings, redis, SystemClock())
    scheduler = build_scheduler(redis, settings, consumer="e2e-test")
    await scheduler.ensure_group()  # before the alert, as a running worker would have
    stopping = asyncio.Event()
    loops = [
        asyncio.create_task(scheduler.enqueue_from_feed(stopping)),
        asyncio.create_task(scheduler.run_due(stopping)),
    ]
    async with client(app) as http:
        made = await http.post(
            "/api/v1/webhooks",
            json={"url": receiver.url("/status/204"), "description": "稽查局"},
            headers=auth,
        )
        assert made.status_code == 201, made.text
        endpoint = made.json()
        sub = await http.post(
            "/api/v1/subscriptions",
            json={"rule_ids": ["tax_arrears"], "min_severity": "high"},
            headers=auth,
        )
        assert sub.status_code == 201, sub.text
        try:
            f = EventFactory(source="tax-webhooks-e2e", seed=909)
            firm = f.uscc()
            produce(settings, [f.registered(firm), f.tax_arrears(firm, 350_000.0)])
            got = await _webhook_for(receiver, "/status/204", firm)

            body = orjson.loads(got.body)
            alert = body["alert"]
            assert body["type"] == "alert"
            assert body["change"] == "created"
            assert alert["rule_id"] == "tax_arrears"
            assert "tax" in alert["departments"]
            assert got.headers["content-type"] == "application/json"
            msg_id = got.headers["webhook-id"]
            assert msg_id == f"msg_{endpoint['id']}_{alert['alert_id']}_{alert['revision']}"
            stamp = got.headers["webhook-timestamp"]
            key = base64.b64decode(endpoint["secret"].removeprefix("whsec_"))
            mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + got.body, hashlib.sha256)
            assert (
                got.headers["webhook-signature"] == "v1," + base64.b64encode(mac.digest()).decode()
            )

            log = await http.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=auth)
            mine = [d for d in log.json()["items"] if d["alert_id"] == alert["alert_id"]]
            assert [d["state"] for d in mine] == ["delivered"]
            assert mine[0]["attempts"][0]["status_code"] == 204
        finally:
            stopping.set()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(15):
                    await asyncio.gather(*loops)
            await http.delete(f"/api/v1/webhooks/{endpoint['id']}", headers=auth)
            await http.delete(f"/api/v1/subscriptions/{sub.json()['id']}", headers=auth)
