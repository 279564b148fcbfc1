"""A hostile feed through the real stack (issue 9, "Done when"): the real broker and
Redis, a real worker process and API. The feed holds an event that makes an oversized
alert, a ~1 MB value that is not UTF-8, JSON nested 100,000 deep, 10,000 events for one
enterprise at once, control characters and confusable Unicode in names and addresses,
and event times in the years 9999 and 1900. Afterwards nothing valid is lost, each bad
message is in the DLQ with its reason, and a normal event still makes its alert within
5 s, on ``riskwire.alerts`` and over the WebSocket."""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import httpx
import orjson
import pytest
import redis as redis_sync
import websockets
from kafka import KafkaConsumer, TopicPartition

from core.redis_client import sync_client
from core.settings import Settings
from processors.profiles.codec import decode
from processors.profiles.redis import doc_key, seen_key
from simulate.factory import EventFactory
from streams.address import normalise_address
from streams.kafka import input_topic
from streams.profile import EnterpriseProfile
from streams.profile_store import EntityRef

from .api_kit import cli_token
from .conftest import Proc
from .feed_kit import produce, produce_raw, read_topic

pytestmark = [pytest.mark.kafka, pytest.mark.redis, pytest.mark.e2e]

BURST = 10_000
ALERT_WITHIN_S = 5.0


class Feed:
    """The hostile feed, and what must come of it."""

    def __init__(self, settings: Settings) -> None:
        self.f = EventFactory(source="hostile", seed=999)
        self.settings = settings
        self.firm, self.busy, self.odd, self.deep = (self.f.uscc() for _ in range(4))
        self.valid: list[dict[str, Any]] = []
        self.bad: dict[bytes, tuple[str, bytes, str]] = {}  # key -> topic, value, reason

    def play(self) -> None:
        f = self.f
        self.valid += [f.registered(u) for u in (self.firm, self.busy, self.deep)]
        self.valid.append(self._odd_names())
        self.valid.append(
            f.event(
                "enterprise.abnormal_listed",
                self.firm,
                {
                    "reason_code": "unreachable_address",
                    "reason": "失联",
                    "authority": "A" * 600_000,
                },
            )
        )
        deep_extra = f.tax_paid(self.deep)
        deep_extra["data"]["extension"] = _nested(200)  # unknown fields are ignored
        self.valid.append(deep_extra)
        registration = input_topic(self.settings, "enterprise.registered")
        self._bad("not-utf8", registration, b"\xff" + hashlib.sha256(b"x").digest() * 31_250)
        self._bad("deep", registration, b"[" * 100_000 + b"]" * 100_000, "not_json")
        for year in ("9999-12-31T00:00:00+08:00", "1900-01-01T00:00:00+08:00"):
            late = {**f.registered(), "time": year}
            self._bad(f"time-{year[:4]}", registration, orjson.dumps(late), "bad_date")
        produce(self.settings, self.valid[:4])
        produce_raw(self.settings, registration, [(k, v) for k, (_, v, _) in self.bad.items()])
        produce(self.settings, self.valid[4:])
        produce(self.settings, [f.tax_paid(self.busy) for _ in range(BURST)])

    def _bad(self, name: str, topic: str, value: bytes, reason: str = "not_json") -> None:
        self.bad[f"hostile-{name}".encode()] = (topic, value, reason)

    def _odd_names(self) -> dict[str, Any]:
        """Control characters, a right-to-left override, a zero-width space and look-alike
        letters (Cyrillic А, full-width digits) in names and an address."""
        rep = {**self.f.person(), "name": "张\u202e三\x07"}
        ev = self.f.registered(
            self.odd, legal_rep=rep, address="南山区桂湾五路１２８号\u200b\x00А座"
        )
        ev["data"]["name"] = "深圳\x1b[31m前海\u202eΑΒС\u0000有限公司"
        return ev


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"x": value}
    return value


def _profile(client: redis_sync.Redis, uscc: str) -> EnterpriseProfile | None:
    doc = client.hget(doc_key(EntityRef("ent", uscc)), "doc")
    return EnterpriseProfile.model_validate_json(decode(doc)) if doc else None


def _drained(client: redis_sync.Redis, feed: Feed, timeout: float = 240) -> EnterpriseProfile:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = _profile(client, feed.busy)
        if busy is not None and busy.event_counts.get("tax.paid", 0) >= BURST:
            return busy
        time.sleep(0.5)
    raise AssertionError(f"the burst of {BURST} events was not applied in {timeout}s")


@pytest.fixture(scope="module")
def played(settings: Settings, worker: Proc) -> Feed:
    feed = Feed(settings)
    feed.play()
    client = sync_client(settings.redis_url)
    try:
        _drained(client, feed)
    finally:
        client.close()
    return feed


def test_nothing_valid_is_lost(settings: Settings, played: Feed, worker: Proc) -> None:
    client = sync_client(settings.redis_url)
    try:
        busy = _profile(client, played.busy)
        assert busy is not None
        assert busy.event_counts["tax.paid"] == BURST
        assert client.zcard(seen_key(EntityRef("ent", played.busy))) == BURST + 1
        for uscc in (played.firm, played.odd, played.deep):
            assert _profile(client, uscc) is not None, uscc
        deep = _profile(client, played.deep)
        assert deep is not None
        assert deep.event_counts.get("tax.paid") == 1
        odd = _profile(client, played.odd)
        assert odd is not None
        assert odd.name is not None
        assert "有限公司" in odd.name
        assert odd.address_norm == normalise_address("南山区桂湾五路128号A座")
    finally:
        client.close()
    assert worker.alive()


def test_every_bad_message_is_dead_lettered_with_its_reason(
    settings: Settings, played: Feed
) -> None:
    keys = set(played.bad)
    seen = read_topic(settings, settings.topic_dlq, lambda seen: keys <= {m.key for m in seen})
    letters = {m.key: orjson.loads(m.value) for m in seen if m.key in keys}
    for key, (topic, value, reason) in played.bad.items():
        doc = letters[key]
        assert (doc["topic"], doc["reason"]) == (topic, reason), key
        assert doc["raw_bytes"] == len(value)
        assert doc["raw_sha256"] == hashlib.sha256(value).hexdigest()


def test_the_oversized_alert_is_bounded_and_published(settings: Settings, played: Feed) -> None:
    key = f"unreachable_contact:enterprise:{played.firm}".encode()
    seen = read_topic(settings, settings.topic_alerts, lambda seen: key in {m.key for m in seen})
    [value] = [m.value for m in seen if m.key == key][-1:]
    assert len(value) < 256 * 1024
    assert "已截断" in orjson.loads(value)["explanation"]


def _ticket(base: str, token: str) -> str:
    reply = httpx.post(f"{base}/api/v1/ws-tickets", headers={"Authorization": f"Bearer {token}"})
    reply.raise_for_status()
    return str(reply.json()["ticket"])


def _at_end(settings: Settings) -> KafkaConsumer:
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    parts = consumer.partitions_for_topic(settings.topic_alerts) or set()
    consumer.assign([TopicPartition(settings.topic_alerts, p) for p in parts])
    consumer.seek_to_end()
    for tp in consumer.assignment():
        consumer.position(tp)  # resolve the end offsets now, before the event is sent
    return consumer


async def test_a_normal_event_still_alerts_within_5_s(
    settings: Settings, played: Feed, api_server: str
) -> None:
    f = EventFactory(source="after-hostile", seed=1000)
    firm = f.uscc()
    produce(settings, [f.registered(firm)])
    token = cli_token(settings, "tax", "duty_officer")
    fingerprint = f"tax_arrears:enterprise:{firm}".encode()
    consumer = _at_end(settings)
    ws_url = api_server.replace("http", "ws", 1) + f"/ws/alerts?ticket={_ticket(api_server, token)}"
    try:
        async with websockets.connect(ws_url) as ws:
            sent = time.monotonic()
            await asyncio.to_thread(produce, settings, [f.tax_arrears(firm, 300_000.0)])
            async with asyncio.timeout(ALERT_WITHIN_S + 5):
                while True:
                    message = orjson.loads(await ws.recv())
                    if message["type"] == "alert" and message["alert"]["subject"]["id"] == firm:
                        break
            on_ws = time.monotonic() - sent
            on_topic = await asyncio.to_thread(_poll_for, consumer, fingerprint, sent)
    finally:
        consumer.close()
    assert on_ws <= ALERT_WITHIN_S, f"over the WebSocket after {on_ws:.1f}s"
    assert on_topic <= ALERT_WITHIN_S, f"on riskwire.alerts after {on_topic:.1f}s"


def _poll_for(consumer: KafkaConsumer, key: bytes, sent: float) -> float:
    deadline = sent + ALERT_WITHIN_S + 10
    while time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            if any(r.key == key for r in records):
                return time.monotonic() - sent
    raise AssertionError("the alert never reached riskwire.alerts")
