"""The webhook routes' guards on the real Redis, called in-process: URLs that reach
loopback, private, link-local or metadata addresses are refused when registered, a name
rebound to loopback after registration is refused at delivery, a department's endpoints
and subscriptions are capped, and dead letters stay listed, however many attempts follow,
until an admin replays or purges them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from ipaddress import ip_address
from typing import Any

import pytest
from redis.asyncio import Redis

from alerts.notify.base import Outcome, OutcomeKind, outcome_for_status
from alerts.notify.deliveries import DeliveryScheduler
from alerts.notify.egress import EgressGuard, EgressPolicy
from alerts.notify.webhook import WebhookNotifier
from api.accounts import Accounts
from core.clock import FakeClock
from core.redis_client import redis_client
from core.settings import Settings

from ..unit.test_deliveries import Scripted
from ..unit.test_subscriptions import alert
from ..unit.test_webhook_egress import PUBLIC, Rebinding
from ..unit.webhook_receiver import Receiver
from .test_webhooks_api import Api
from .webhooks_app import client, webhooks_app

pytestmark = [pytest.mark.redis]

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
QUEUE = "wh-guards-test"  # its own delivery queue: a worker's scheduler never takes from it
MY_KEYS = ("rw:wh:*", f"rw:{{{QUEUE}}}:*", "rw:subs:v1:*")
MakeApi = Callable[..., Awaitable[Api]]


async def wipe(redis: Redis) -> None:
    for pattern in MY_KEYS:
        keys = [k async for k in redis.scan_iter(match=pattern, count=1000)]
        if keys:
            await redis.delete(*keys)


@pytest.fixture
async def make_api(settings: Settings) -> AsyncIterator[MakeApi]:
    """An API on the session's Redis with some settings changed and its own egress guard."""
    redis = redis_client(settings.redis_url)
    await wipe(redis)
    made: list[tuple[Api, Any]] = []

    async def make(egress: EgressGuard | None = None, **changed: Any) -> Api:
        app = webhooks_app(
            settings.model_copy(update=changed),
            redis,
            FakeClock(NOW),
            queue_namespace=QUEUE,
            egress=egress,
        )
        http = client(app)
        api = Api(http, redis, app.state.notify.clock, app)
        made.append((api, http))
        return api

    yield make
    for api, http in made:
        await http.aclose()
        for token in api.tokens.values():
            await Accounts(redis).revoke(token)
    await wipe(redis)
    await redis.aclose()


async def register(api: Api, url: str, department: str = "tax") -> Any:
    return await api.http.post(
        "/api/v1/webhooks", json={"url": url}, headers=await api.token(department)
    )


async def settle(s: DeliveryScheduler) -> None:
    while await s.due_step():
        await s.drain()


# ---------------------------------------------------------------- egress


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:8000/api/v1/alerts", "loopback"),
        ("http://[::1]:8000/x", "loopback"),
        ("http://localhost:6379/x", "loopback"),
        ("http://2130706433/x", "loopback"),
        ("http://[::ffff:127.0.0.1]/x", "loopback"),
        ("http://10.1.2.3/x", "private"),
        ("http://172.16.0.1/x", "private"),
        ("http://192.168.1.1/x", "private"),
        ("http://[fd12::1]/x", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://100.100.100.200/latest/meta-data/", "metadata"),
        ("http://[fe80::1]/x", "link_local"),
        ("http://0.0.0.0:8000/x", "unroutable"),
    ],
)
async def test_registration_refuses_every_forbidden_class_of_address(
    make_api: MakeApi, url: str, kind: str
) -> None:
    api = await make_api(webhook_allowed_networks=())
    reply = await register(api, url)
    assert reply.status_code == 422, reply.text
    assert kind in reply.json()["detail"]
    assert (await api.http.get("/api/v1/webhooks", headers=await api.token("tax"))).json()[
        "items"
    ] == []


async def test_allowed_networks_admit_loopback_but_never_metadata(make_api: MakeApi) -> None:
    api = await make_api(webhook_allowed_networks=("127.0.0.0/8", "169.254.0.0/16"))
    assert (await register(api, "http://127.0.0.1:9/x")).status_code == 201
    for url in ("http://169.254.169.254/", "http://10.0.0.1/x"):
        reply = await register(api, url)
        assert reply.status_code == 422, url
    assert "never" in (await register(api, "http://169.254.169.254/")).json()["detail"]


async def test_a_name_rebound_to_loopback_after_registration_is_refused_at_delivery(
    make_api: MakeApi, receiver: Receiver
) -> None:
    name = "hooks.rebind.test"
    resolver = Rebinding({name: [[PUBLIC], [ip_address("127.0.0.1")]]})
    api = await make_api(egress=EgressGuard(EgressPolicy(), resolver), webhook_allowed_networks=())
    made = await register(api, f"http://{name}:{receiver.port}/status/204")
    assert made.status_code == 201, made.text  # public when registered
    endpoint = made.json()
    notifier = WebhookNotifier(api.clock, timeout_s=5, egress=api.notify.egress)
    s = api.scheduler(notifier)
    try:
        await s.enqueue_changes([(alert().model_dump_json().encode(), "created")])
        await settle(s)
    finally:
        await notifier.aclose()
    assert receiver.requests == []
    assert resolver.asked == [name, name]  # checked again when delivering
    log = await api.http.get(
        f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=await api.token("tax")
    )
    ((delivery,),) = [log.json()["items"]]
    (tried,) = delivery["attempts"]
    assert (delivery["state"], tried["reason"]) == ("failed", "forbidden_address")
    assert (tried["status_code"], tried["latency_ms"]) == (None, 0)  # nothing to scan with


# ---------------------------------------------------------------- caps per department


async def test_a_department_past_its_caps_gets_409_and_the_others_are_unaffected(
    make_api: MakeApi,
) -> None:
    api = await make_api(webhook_max_endpoints=2, webhook_max_subscriptions=2)
    tax = await api.token("tax")
    made = [await register(api, f"http://127.0.0.1:9/{n}") for n in range(2)]
    assert [r.status_code for r in made] == [201, 201]
    refused = await register(api, "http://127.0.0.1:9/third")
    assert refused.status_code == 409
    assert "RISKWIRE_WEBHOOK_MAX_ENDPOINTS" in refused.json()["detail"]
    assert (await register(api, "http://127.0.0.1:9/samr", "samr")).status_code == 201
    await api.http.delete(f"/api/v1/webhooks/{made[0].json()['id']}", headers=tax)
    assert (await register(api, "http://127.0.0.1:9/again")).status_code == 201

    subs = [await api.http.post("/api/v1/subscriptions", json={}, headers=tax) for _ in range(3)]
    assert [r.status_code for r in subs] == [201, 201, 409]
    assert "RISKWIRE_WEBHOOK_MAX_SUBSCRIPTIONS" in subs[2].json()["detail"]
    samr = await api.token("samr")
    assert (await api.http.post("/api/v1/subscriptions", json={}, headers=samr)).status_code == 201


# ---------------------------------------------------------------- dead letters


async def _run_for_a_day(api: Api, s: DeliveryScheduler) -> None:
    for _ in range(27):  # hourly steps on the fake clock, past the 24-hour window
        await settle(s)
        api.clock.advance(3600)
    await settle(s)


async def test_every_dead_letter_stays_listed_until_replayed_or_purged(
    make_api: MakeApi,
) -> None:
    api = await make_api()
    admin = await api.token("tax")
    endpoint = (await register(api, "http://127.0.0.1:9/x")).json()
    failing = outcome_for_status(503, latency_ms=2)
    notifier = Scripted(api.clock, {endpoint["id"]: [failing]})
    s = api.scheduler(notifier)
    alerts = [alert(alert_id=f"01JDEADLETTER{n:014d}") for n in range(50)]
    # Day one: five alerts dead-lettered; day two: forty-five more, over a thousand attempts.
    for batch in (alerts[:5], alerts[5:]):
        await s.enqueue_changes([(a.model_dump_json().encode(), "created") for a in batch])
        await _run_for_a_day(api, s)
    assert len(notifier.sent) > 1000 + 5  # the attempt log holds the last 1,000

    url = f"/api/v1/webhooks/{endpoint['id']}"
    dead = await api.http.get(f"{url}/deliveries?state=dead_lettered&limit=1000", headers=admin)
    assert {d["alert_id"] for d in dead.json()["items"]} == {a.alert_id for a in alerts}
    letters = (await api.http.get(f"{url}/dead-letters?limit=1000", headers=admin)).json()
    assert letters["total"] == 50
    assert {d["attempts"][0]["status_code"] for d in letters["items"]} == {503}

    # Replayed: sent again with the same webhook-id, and no longer a dead letter.
    first = f"msg_{endpoint['id']}_{alerts[0].alert_id}_1"
    notifier.script[endpoint["id"]] = [Outcome(OutcomeKind.DELIVERED, status_code=200)]
    replay = await api.http.post(
        f"{url}/dead-letters/replay", json={"delivery_ids": [first]}, headers=admin
    )
    assert replay.json() == {"replayed": 1}
    sent_before = len(notifier.sent)
    await settle(s)
    assert [d for d, _, _ in notifier.sent[sent_before:]] == [first]
    after = (await api.http.get(f"{url}/dead-letters", headers=admin)).json()
    assert after["total"] == 49
    # Purged: one by id, then the rest; another department cannot touch them.
    other = await api.token("samr")
    assert (await api.http.delete(f"{url}/dead-letters", headers=other)).status_code == 404
    second = f"msg_{endpoint['id']}_{alerts[1].alert_id}_1"
    one = await api.http.delete(f"{url}/dead-letters?delivery_id={second}", headers=admin)
    assert one.json() == {"purged": 1}
    assert (await api.http.delete(f"{url}/dead-letters", headers=admin)).json() == {"purged": 48}
    assert (await api.http.get(f"{url}/dead-letters", headers=admin)).json()["total"] == 0


async def test_replaying_enables_an_endpoint_that_a_410_disabled(make_api: MakeApi) -> None:
    api = await make_api()
    admin = await api.token("tax")
    endpoint = (await register(api, "http://127.0.0.1:9/x")).json()
    notifier = Scripted(api.clock, {endpoint["id"]: [outcome_for_status(410, latency_ms=1)]})
    s = api.scheduler(notifier)
    await s.enqueue_changes([(alert().model_dump_json().encode(), "created")])
    await _run_for_a_day(api, s)
    assert len(notifier.sent) == 1
    (listed,) = (await api.http.get("/api/v1/webhooks", headers=admin)).json()["items"]
    assert listed["disabled_at"] is not None
    url = f"/api/v1/webhooks/{endpoint['id']}/dead-letters"
    (letter,) = (await api.http.get(url, headers=admin)).json()["items"]
    assert (letter["state"], letter["attempts"][0]["reason"]) == ("failed", "gone")

    notifier.script[endpoint["id"]] = [Outcome(OutcomeKind.DELIVERED, status_code=200)]
    too_long = {"delivery_ids": ["m" * 201]}
    assert (await api.http.post(f"{url}/replay", json=too_long, headers=admin)).status_code == 422
    extra = {"delivery_ids": None, "endpoint": "x"}
    assert (await api.http.post(f"{url}/replay", json=extra, headers=admin)).status_code == 422
    replayed = await api.http.post(f"{url}/replay", headers=admin)  # no body: all of them
    assert replayed.json() == {"replayed": 1}
    (listed,) = (await api.http.get("/api/v1/webhooks", headers=admin)).json()["items"]
    assert listed["disabled_at"] is None
    await settle(s)
    assert len(notifier.sent) == 2
    assert (await api.http.get(url, headers=admin)).json()["total"] == 0
