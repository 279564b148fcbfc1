"""The subscription and webhook routes on the real Redis, called in-process: who may do
what, secrets shown once and sealed at rest, the delivery log, and signed feedback from
a receiver written into the alert's timeline."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from alerts.notify.deliveries import DeliveryScheduler, RetryPolicy
from alerts.notify.inbound import timeline
from alerts.notify.webhook import WebhookNotifier, generate_secret, sign
from alerts.notify.wiring import NotifyStores
from alerts.store import DOC_KEY
from api.accounts import Accounts, Role
from core.clock import FakeClock
from core.redis_client import redis_client
from core.settings import Settings

from ..unit.test_subscriptions import alert
from ..unit.webhook_receiver import LOOPBACK_ALLOWED, Receiver
from .webhooks_app import client, webhooks_app

pytestmark = [pytest.mark.redis]

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
QUEUE = "wh-api-test"  # its own delivery queue: a worker's scheduler never takes from it
MY_KEYS = ("rw:wh:*", f"rw:{{{QUEUE}}}:*", "rw:subs:v1:*", "rw:alert-timeline:v1:*")


async def wipe(redis: Redis) -> None:
    for pattern in MY_KEYS:
        keys = [k async for k in redis.scan_iter(match=pattern, count=1000)]
        if keys:
            await redis.delete(*keys)


class Api:
    def __init__(self, http: httpx.AsyncClient, redis: Redis, clock: FakeClock, app: Any) -> None:
        self.http, self.redis, self.clock, self.app = http, redis, clock, app
        self.tokens: dict[tuple[str, Role], str] = {}
        self.alert_ids: list[str] = []

    async def token(self, department: str, role: Role = Role.ADMIN) -> dict[str, str]:
        if (department, role) not in self.tokens:
            _, token = await Accounts(self.redis).create(
                name=f"{department} {role}", department=department, role=role
            )
            self.tokens[department, role] = token
        return {"Authorization": f"Bearer {self.tokens[department, role]}"}

    @property
    def notify(self) -> NotifyStores:
        stores: NotifyStores = self.app.state.notify
        return stores

    def scheduler(self, notifier: Any) -> DeliveryScheduler:
        """A delivery scheduler on this app's stores and clock, retrying without jitter."""
        stores = self.notify
        return DeliveryScheduler(
            stores.queue,
            stores.endpoints,
            stores.subscriptions,
            notifier,
            self.clock,
            policy=RetryPolicy(jitter=0),
        )


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    redis = redis_client(settings.redis_url)
    await wipe(redis)
    clock = FakeClock(NOW)
    app = webhooks_app(settings, redis, clock, queue_namespace=QUEUE)
    async with client(app) as http:
        made = Api(http, redis, clock, app)
        yield made
    for token in made.tokens.values():
        await Accounts(redis).revoke(token)
    if made.alert_ids:
        await redis.hdel(DOC_KEY, *made.alert_ids)
    await wipe(redis)
    await redis.aclose()


# ---------------------------------------------------------------- subscriptions


async def test_admins_manage_their_department_s_subscriptions(api: Api) -> None:
    body = {"rule_ids": ["tax_arrears"], "min_severity": "high", "grades": ["C", "D"]}
    made = await api.http.post("/api/v1/subscriptions", json=body, headers=await api.token("tax"))
    assert made.status_code == 201, made.text
    sub = made.json()
    assert sub["id"]
    assert sub["department"] == "tax"
    assert {k: sub[k] for k in body} == body
    assert sub["usccs"] == []

    officer = await api.token("tax", Role.DUTY_OFFICER)
    listed = await api.http.get("/api/v1/subscriptions", headers=officer)
    assert [s["id"] for s in listed.json()["items"]] == [sub["id"]]
    other = await api.http.get("/api/v1/subscriptions", headers=await api.token("samr"))
    assert other.json()["items"] == []

    assert (
        await api.http.post("/api/v1/subscriptions", json={}, headers=officer)
    ).status_code == 403
    assert (
        await api.http.delete(f"/api/v1/subscriptions/{sub['id']}", headers=officer)
    ).status_code == 403
    assert (
        await api.http.delete(f"/api/v1/subscriptions/{sub['id']}", headers=await api.token("samr"))
    ).status_code == 404
    gone = await api.http.delete(
        f"/api/v1/subscriptions/{sub['id']}", headers=await api.token("tax")
    )
    assert gone.status_code == 204
    again = await api.http.delete(
        f"/api/v1/subscriptions/{sub['id']}", headers=await api.token("tax")
    )
    assert again.status_code == 404


async def test_subscription_bodies_are_checked(api: Api) -> None:
    admin = await api.token("tax")
    empty = await api.http.post("/api/v1/subscriptions", json={}, headers=admin)
    assert empty.status_code == 201  # matches everything routed to the department
    for bad in (
        {"rule_ids": ["no_such_rule"]},
        {"grades": ["E"]},
        {"usccs": ["123"]},
        {"min_severity": "urgent"},
        {"department": "samr"},
    ):
        reply = await api.http.post("/api/v1/subscriptions", json=bad, headers=admin)
        assert reply.status_code == 422, bad
    assert (await api.http.get("/api/v1/subscriptions")).status_code == 401


# ---------------------------------------------------------------- endpoints


async def test_a_generated_secret_is_shown_once_and_sealed_at_rest(api: Api) -> None:
    admin = await api.token("tax")
    made = await api.http.post(
        "/api/v1/webhooks",
        json={"url": "https://bureau.example/hooks?token=t0k", "description": "税务局"},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    endpoint = made.json()
    secret = endpoint["secret"]
    assert secret.startswith("whsec_")
    assert endpoint["url"] == "https://bureau.example/hooks?token=t0k"

    listed = await api.http.get("/api/v1/webhooks", headers=admin)
    assert [e["id"] for e in listed.json()["items"]] == [endpoint["id"]]
    assert secret[6:] not in listed.text
    stored = b"".join((await api.redis.hgetall("rw:wh:endpoints:v1")).values())
    assert secret[6:].encode() not in stored  # sealed
    assert (await api.notify.endpoints.get(endpoint["id"])).secret.get_secret_value() == secret  # type: ignore[union-attr]


async def test_a_given_secret_is_kept_and_never_echoed(api: Api) -> None:
    admin = await api.token("tax")
    mine = generate_secret()
    made = await api.http.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "secret": mine}, headers=admin
    )
    assert made.status_code == 201
    assert made.json()["secret"] is None
    assert mine[6:] not in made.text
    ep = await api.notify.endpoints.get(made.json()["id"])
    assert ep is not None
    assert ep.secret.get_secret_value() == mine


@pytest.mark.parametrize(
    ("body", "hidden"),
    [
        ({"url": "ftp://bureau.example/x"}, None),
        ({"url": "bureau.example/x"}, None),
        ({"url": "https://user:hunter2pass@bureau.example/x"}, "hunter2pass"),
        ({"url": "https://bureau.example/x", "secret": "hunter2-not-whsec"}, "hunter2-not-whsec"),
        ({"url": "https://bureau.example/x", "secret": "whsec_aHVudGVyMg=="}, "aHVudGVyMg=="),
        ({"url": "https://bureau.example/x", "extra": 1}, None),
    ],
)
async def test_bad_endpoints_are_refused_without_echoing_credentials(
    api: Api, body: dict[str, Any], hidden: str | None
) -> None:
    reply = await api.http.post("/api/v1/webhooks", json=body, headers=await api.token("tax"))
    assert reply.status_code == 422
    if hidden:
        assert hidden not in reply.text


async def test_only_the_department_s_admins_see_and_delete_its_endpoints(api: Api) -> None:
    admin = await api.token("tax")
    made = (
        await api.http.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=admin)
    ).json()
    officer = await api.token("tax", Role.DUTY_OFFICER)
    assert (await api.http.get("/api/v1/webhooks", headers=officer)).status_code == 403
    samr = await api.token("samr")
    assert (await api.http.get("/api/v1/webhooks", headers=samr)).json()["items"] == []
    assert (
        await api.http.get(f"/api/v1/webhooks/{made['id']}/deliveries", headers=samr)
    ).status_code == 404
    assert (
        await api.http.delete(f"/api/v1/webhooks/{made['id']}", headers=samr)
    ).status_code == 404
    assert (
        await api.http.delete(f"/api/v1/webhooks/{made['id']}", headers=admin)
    ).status_code == 204
    assert (await api.http.get("/api/v1/webhooks", headers=admin)).json()["items"] == []


async def test_the_delivery_log_shows_attempts_and_dead_letters(
    api: Api, receiver: Receiver
) -> None:
    admin = await api.token("tax")
    flaky = (
        await api.http.post(
            "/api/v1/webhooks", json={"url": receiver.url("/flaky/1")}, headers=admin
        )
    ).json()
    broken = (
        await api.http.post(
            "/api/v1/webhooks", json={"url": receiver.url("/status/500")}, headers=admin
        )
    ).json()
    notifier = WebhookNotifier(api.clock, timeout_s=5, egress=LOOPBACK_ALLOWED)
    s = api.scheduler(notifier)
    a = alert()
    await s.enqueue_changes([(a.model_dump_json().encode(), "created")])
    for _ in range(40):  # a day on the fake clock, one due time after another
        while await s.due_step():
            await s.drain()
        api.clock.advance(3600)
    await notifier.aclose()

    got = await api.http.get(f"/api/v1/webhooks/{flaky['id']}/deliveries", headers=admin)
    (delivery,) = got.json()["items"]
    assert delivery["delivery_id"] == f"msg_{flaky['id']}_{a.alert_id}_1"
    assert delivery["state"] == "delivered"
    assert [(t["attempt"], t["status_code"], t["state"]) for t in delivery["attempts"]] == [
        (2, 200, "delivered"),
        (1, 503, "retrying"),
    ]
    assert all(t["latency_ms"] >= 0 for t in delivery["attempts"])
    dead = await api.http.get(
        f"/api/v1/webhooks/{broken['id']}/deliveries?state=dead_lettered", headers=admin
    )
    (dl,) = dead.json()["items"]
    assert dl["attempts"][0]["reason"] == "server_error"
    assert len(dl["attempts"]) > 20
    listed = (await api.http.get("/api/v1/webhooks", headers=admin)).json()["items"]
    assert {e["id"]: e["recent"][0]["state"] for e in listed} == {
        flaky["id"]: "delivered",
        broken["id"]: "dead_lettered",
    }


# ---------------------------------------------------------------- inbound feedback


async def _endpoint_and_alert(api: Api, rule_id: str = "tax_arrears") -> tuple[str, str, str]:
    made = (
        await api.http.post(
            "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=await api.token("tax")
        )
    ).json()
    a = alert(rule_id=rule_id, alert_id=f"01JFEEDBACK{rule_id[:4].upper()}000000000000")
    await api.redis.hset(DOC_KEY, a.alert_id, a.model_dump_json())
    api.alert_ids.append(a.alert_id)
    return made["id"], made["secret"], a.alert_id


def _signed(secret: str, body: bytes, stamp: int, msg_id: str) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, msg_id, stamp, body),
        "content-type": "application/json",
    }


async def test_signed_feedback_lands_in_the_alert_s_timeline_once(api: Api) -> None:
    ep, secret, alert_id = await _endpoint_and_alert(api)
    body = orjson.dumps(
        {"alert_id": alert_id, "kind": "outcome", "outcome": "立案", "note": "已移交稽查局"}
    )
    stamp = int(NOW.timestamp())
    headers = _signed(secret, body, stamp, "msg_fb1")
    # The bureau computes the signature its own way: check ours agrees.
    mac = hmac.new(
        base64.b64decode(secret[6:]), f"msg_fb1.{stamp}.".encode() + body, hashlib.sha256
    )
    assert headers["webhook-signature"] == "v1," + base64.b64encode(mac.digest()).decode()

    url = f"/api/v1/webhooks/inbound/{ep}"
    first = await api.http.post(url, content=body, headers=headers)  # no bearer token
    assert first.status_code == 200, first.text
    assert first.json() == {"status": "recorded"}
    replay = await api.http.post(url, content=body, headers=headers)
    assert replay.json() == {"status": "duplicate"}
    (entry,) = await timeline(api.redis, alert_id)
    assert entry.kind == "feedback.outcome"
    assert (entry.outcome, entry.note) == ("立案", "已移交稽查局")
    assert (entry.department, entry.actor, entry.message_id) == ("tax", f"webhook:{ep}", "msg_fb1")
    assert entry.at == NOW
    # ... and the department reads it on the alert itself.
    shown = await api.http.get(f"/api/v1/alerts/{alert_id}", headers=await api.token("tax"))
    assert shown.status_code == 200, shown.text
    assert [(f["kind"], f["outcome"]) for f in shown.json()["feedback"]] == [
        ("feedback.outcome", "立案")
    ]


async def test_unsigned_stale_or_misdirected_feedback_is_refused(api: Api) -> None:
    ep, secret, alert_id = await _endpoint_and_alert(api)
    _, _, court_alert = await _endpoint_and_alert(api, rule_id="litigation_surge")
    body = orjson.dumps({"alert_id": alert_id, "kind": "received"})
    stamp = int(NOW.timestamp())
    url = f"/api/v1/webhooks/inbound/{ep}"
    cases = [
        (url, _signed(generate_secret(), body, stamp, "m1"), body, 401),  # another secret
        (url, _signed(secret, body, stamp - 301, "m2"), body, 401),  # stale
        (url, _signed(secret, body, stamp, "m3"), body + b" ", 401),  # tampered
        (url, {"content-type": "application/json"}, body, 401),  # unsigned
        (
            "/api/v1/webhooks/inbound/01NOSUCHENDPOINT",
            _signed(secret, body, stamp, "m4"),
            body,
            401,
        ),
    ]
    bad_body = b'{"alert_id": "x", "kind": "maybe"}'
    cases.append((url, _signed(secret, bad_body, stamp, "m5"), bad_body, 422))
    other = orjson.dumps({"alert_id": court_alert, "kind": "received"})  # not routed to tax
    cases.append((url, _signed(secret, other, stamp, "m6"), other, 404))
    for path, headers, sent, expected in cases:
        reply = await api.http.post(path, content=sent, headers=headers)
        assert reply.status_code == expected, (headers.get("webhook-id"), reply.text)
        assert secret[6:] not in reply.text
    assert await timeline(api.redis, alert_id) == []
