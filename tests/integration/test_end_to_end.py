"""End to end on the real broker and Redis: a department produces contract events with
kafka-python; the worker applies them; the alert arrives over a real WebSocket and on the
alerts topic; bad input lands on the DLQ with a reason; no raw id_number leaves the wire."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx
import orjson
import pytest
import websockets

from cli.accounts import token_in_child
from core.redis_client import sync_client
from core.settings import Settings
from processors.profiles import codec
from processors.profiles.redis import doc_key
from simulate.factory import EventFactory
from streams.kafka import department_producer
from streams.profile_store import EntityRef

from .conftest import Proc, child_env, wait_for
from .feed_kit import produce, read_topic

pytestmark = [pytest.mark.kafka, pytest.mark.redis, pytest.mark.e2e]


def _create_token(settings: Settings, department: str, role: str = "duty_officer") -> str:
    env = child_env(settings)
    return token_in_child(
        env, department=department, role=role, name=f"test {department}", timeout=60
    )


def _ticket(base: str, token: str) -> str:
    reply = httpx.post(f"{base}/api/v1/ws-tickets", headers={"Authorization": f"Bearer {token}"})
    reply.raise_for_status()
    return str(reply.json()["ticket"])


@pytest.fixture(scope="module")
def samr_token(settings: Settings, api_server: str) -> str:
    return _create_token(settings, "samr")


async def test_alert_reaches_websocket_and_topic(
    settings: Settings, worker: Proc, api_server: str, samr_token: str
) -> None:
    f = EventFactory(source="samr-e2e", seed=101)
    director = f.person("director")
    firm = f.uscc()
    produce(settings, [f.registered(firm, officers=[director])])
    ws_url = (
        api_server.replace("http", "ws", 1) + f"/ws/alerts?ticket={_ticket(api_server, samr_token)}"
    )
    async with websockets.connect(ws_url) as ws:
        # The director is listed as a dishonest debtor after the appointment (court -> P: key).
        produce(settings, [f.debtor_listed_person(director)])
        alert = await _next_alert(ws, "dishonest_officer", within_s=60)
    assert alert["subject"] == {"kind": "enterprise", "id": firm}
    assert alert["severity"] == "critical"
    assert "samr" in alert["departments"]
    assert director["id_number"] not in orjson.dumps(alert).decode()

    messages = read_topic(
        settings,
        settings.topic_alerts,
        lambda seen: any(m.key == alert["fingerprint"].encode() for m in seen),
    )
    published = [orjson.loads(m.value) for m in messages if m.key == alert["fingerprint"].encode()]
    assert published[-1]["alert_id"] == alert["alert_id"]
    routed = read_topic(
        settings,
        settings.department_topic("court"),
        lambda seen: any(m.key == alert["fingerprint"].encode() for m in seen),
    )
    assert routed


async def _next_alert(ws: Any, rule_id: str, within_s: float) -> dict[str, Any]:
    async with asyncio.timeout(within_s):
        while True:
            message = orjson.loads(await ws.recv())
            if message["type"] == "alert" and message["alert"]["rule_id"] == rule_id:
                assert isinstance(message["seq"], int)
                return dict(message["alert"])


async def test_websocket_resumes_with_since_and_misses_nothing(
    settings: Settings, worker: Proc, api_server: str
) -> None:
    f = EventFactory(source="tax-resume", seed=202)
    firms = [f.uscc() for _ in range(3)]
    tax_token = _create_token(settings, "tax")  # tax_arrears is routed to the tax bureau
    ws_base = api_server.replace("http", "ws", 1) + "/ws/alerts?ticket="
    async with websockets.connect(ws_base + _ticket(api_server, tax_token)) as ws:
        produce(settings, [f.registered(firms[0]), f.tax_arrears(firms[0], 300_000.0)])
        first = await _next_seq(ws, firms[0])
    # Disconnected: two more alerts fire meanwhile.
    produce(
        settings,
        [
            f.registered(firms[1]),
            f.tax_arrears(firms[1], 400_000.0),
            f.registered(firms[2]),
            f.tax_arrears(firms[2], 500_000.0),
        ],
    )
    await asyncio.sleep(3)
    async with websockets.connect(
        ws_base + _ticket(api_server, tax_token) + f"&since={first}"
    ) as ws:
        got = {await _next_subject(ws) for _ in range(2)}
    assert got == {firms[1], firms[2]}


async def _next_seq(ws: Any, subject: str) -> int:
    async with asyncio.timeout(60):
        while True:
            message = orjson.loads(await ws.recv())
            if message["type"] == "alert" and message["alert"]["subject"]["id"] == subject:
                return int(message["seq"])


async def _next_subject(ws: Any) -> str:
    async with asyncio.timeout(60):
        while True:
            message = orjson.loads(await ws.recv())
            if message["type"] == "alert":
                return str(message["alert"]["subject"]["id"])


async def test_ticket_is_single_use_and_required(api_server: str, samr_token: str) -> None:
    ws_base = api_server.replace("http", "ws", 1) + "/ws/alerts"
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(ws_base + "?ticket=forged") as ws:
            await ws.recv()
    ticket = _ticket(api_server, samr_token)
    async with websockets.connect(f"{ws_base}?ticket={ticket}"):
        pass
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(f"{ws_base}?ticket={ticket}") as ws:
            await ws.recv()


def test_bad_input_goes_to_the_dlq_and_the_rest_goes_on(settings: Settings, worker: Proc) -> None:
    f = EventFactory(source="dlq-e2e", seed=303)
    good = f.registered()
    bad_id = f.registered()
    rid = bad_id["data"]["legal_rep"]["id_number"]
    bad_id["data"]["legal_rep"]["id_number"] = rid[:-1] + ("0" if rid[-1] != "0" else "1")
    producer = department_producer(settings)
    producer.send(settings.topic_registration, key=b"k1", value=b"{definitely not json")
    producer.send(
        settings.topic_registration, key=bad_id["subject"].encode(), value=orjson.dumps(bad_id)
    )
    producer.send(settings.topic_registration, key=None, value=orjson.dumps(good))  # unkeyed
    producer.flush()
    producer.close()
    ours = {b"k1", bad_id["subject"].encode()}  # other tests dead-letter on this topic too
    letters = read_topic(
        settings, settings.topic_dlq, lambda seen: sum(m.key in ours for m in seen) >= 2
    )
    docs = [orjson.loads(m.value) for m in letters if m.key in ours]
    reasons = {d["reason"] for d in docs}
    assert {"not_json", "bad_id_number"} <= reasons
    for d in docs:
        assert {"topic", "partition", "offset", "error", "raw"} <= d.keys()
        assert d["topic"] == settings.topic_registration
        assert d["error"]
    assert _wait_for_profile(settings, good["subject"]), "the good event after the bad ones"


def _wait_for_profile(settings: Settings, uscc: str, timeout: float = 30) -> bool:
    client = sync_client(settings.redis_url)
    key = doc_key(EntityRef("ent", uscc))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.hexists(key, "doc"):
            return True
        time.sleep(0.2)
    return False


def test_no_raw_id_number_in_redis_or_output_topics(settings: Settings, worker: Proc) -> None:
    f = EventFactory(source="privacy-e2e", seed=404)
    people = [f.person() for _ in range(3)]
    events = [f.registered(legal_rep=p, officers=[f.person("director")]) for p in people]
    events.append(f.debtor_listed_person(people[0]))
    raw_ids = {p["id_number"] for p in people} | {
        o["id_number"]
        for ev in events
        if ev["type"] == "enterprise.registered"
        for o in ev["data"]["officers"]
    }
    produce(settings, events)
    assert _wait_for_profile(settings, events[0]["subject"])
    time.sleep(2)
    client = sync_client(settings.redis_url)
    dump = bytearray()
    for k in client.scan_iter(count=1000):
        dump += k
        kind = client.type(k)
        if kind == b"hash":
            for field, value in client.hgetall(k).items():
                # a profile document is stored compressed: look at what it holds
                packed = value.startswith(codec.PREFIX)
                dump += field + (codec.decode(value) if packed else value)
        elif kind == b"string":
            dump += client.get(k) or b""
        elif kind == b"set":
            dump += b"".join(client.smembers(k))
        elif kind == b"zset":
            dump += b"".join(client.zrange(k, 0, -1))
        elif kind == b"stream":
            for _, fields in client.xrange(k):
                dump += b"".join(fields.values())
    outputs = b"".join(
        (m.value or b"") + (m.key or b"")
        for topic in (settings.topic_alerts, settings.department_topic("samr"))
        # one read to a second of quiet: all that was published, not just what came first
        for m in read_topic(settings, topic, lambda seen: True, timeout=5, idle_ms=1000)
    )
    for number in raw_ids:
        assert number.encode() not in dump, "raw id_number stored in Redis"
        assert number.encode() not in outputs, "raw id_number re-published"


def test_metrics_and_health(settings: Settings, api_server: str, worker: Proc) -> None:
    f = EventFactory(source="metrics-e2e", seed=505)
    firm = f.registered()
    producer = department_producer(settings)
    producer.send(settings.topic_registration, key=b"m", value=b"not json either")
    producer.send(
        settings.topic_registration, key=firm["subject"].encode(), value=orjson.dumps(firm)
    )
    producer.flush()
    producer.close()
    _wait_for_profile(settings, firm["subject"])
    assert httpx.get(f"{api_server}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{api_server}/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["assigned_partitions"] > 0
    api_text = httpx.get(f"{api_server}/metrics").text
    assert worker.metrics_url is not None
    worker_url = worker.metrics_url
    # Source freshness is written by the worker's 5-second timer.
    fresh = re.compile(r'^riskwire_source_last_event_timestamp_seconds\{[^}]*source="other"', re.M)
    wait_for(
        lambda: fresh.search(httpx.get(worker_url).text) is not None,
        timeout=30,
        what="source freshness",
    )
    text = httpx.get(worker_url).text
    # The worker's metrics, on its own port: consumed per topic and type, latency, lag.
    consumed = re.search(
        r'^riskwire_events_consumed_total\{[^}]*type="enterprise.registered"[^}]*\} (\S+)$',
        text,
        re.MULTILINE,
    )
    assert consumed is not None
    assert float(consumed.group(1)) >= 1
    assert "riskwire_event_to_alert_seconds_bucket" in text
    assert re.search(r'^riskwire_consumer_lag_messages\{[^}]*partition="\d+"', text, re.M)
    assert re.search(r'riskwire_events_dead_lettered_total\{[^}]*reason="not_json"', text)
    assert 'riskwire_batch_stage_seconds_count{stage="rules"}' in text
    assert "riskwire_build_info{" in text
    # The API serves its own samples and never the worker's: Prometheus scrapes both, and
    # a worker's events counted by the API as well would be counted twice.
    assert "riskwire_websocket_clients" in api_text
    assert "riskwire_build_info{" in api_text
    assert not re.search(r"^riskwire_events_consumed_total\{", api_text, re.MULTILINE)
    assert re.search(r"^riskwire_batch_size_events_count 0\.0$", api_text, re.MULTILINE)
    # Labels stay bounded: no uscc and no person key in any label value.
    values = re.findall(r'="([^"]*)"', text)
    assert values
    assert not [v for v in values if re.fullmatch(r"[0-9A-Z]{18}|[0-9a-f]{32}", v)]


def test_auth_401_and_403(api_server: str, samr_token: str) -> None:
    assert httpx.get(f"{api_server}/api/v1/alerts").status_code == 401
    assert (
        httpx.get(
            f"{api_server}/api/v1/alerts", headers={"Authorization": "Bearer nope"}
        ).status_code
        == 401
    )
    assert (
        httpx.get(
            f"{api_server}/api/v1/alerts", headers={"Authorization": f"Basic {samr_token}"}
        ).status_code
        == 401
    )
    assert (
        httpx.get(
            f"{api_server}/api/v1/alerts", headers={"Authorization": f"Bearer {samr_token}x"}
        ).status_code
        == 401
    )
    ok = httpx.get(f"{api_server}/api/v1/alerts", headers={"Authorization": f"Bearer {samr_token}"})
    assert ok.status_code == 200
    body = ok.json()
    assert set(body) == {"items", "next"}
    assert all("samr" in a["departments"] for a in body["items"])
