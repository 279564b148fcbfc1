"""On the real broker: the alert, grade and dead-letter messages the worker publishes
carry CloudEvents 1.0 binary-mode headers, and their values are exactly the bodies
riskwire keeps in its Redis feeds (alerts.md's alert, events.md's grade and DLQ
entry), with no CloudEvents field mixed into them; headers and bodies match the
messages of docs/asyncapi.yaml."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import jsonschema_rs
import orjson
import pytest
import yaml

from alerts import feed_codec
from alerts.store import FEED_KEY as ALERT_FEED
from core.redis_client import sync_client
from core.settings import Settings
from processors.grades import FEED_KEY as GRADE_FEED
from simulate.factory import EventFactory
from streams.asyncapi import DOC_PATH, message_schema
from streams.cloudevents import event_source
from streams.kafka import department_producer, produce_events

from .conftest import Proc
from .feed_kit import read_topic

pytestmark = [pytest.mark.kafka, pytest.mark.redis, pytest.mark.e2e]

DOC = yaml.safe_load(DOC_PATH.read_text(encoding="utf-8"))
CE_ATTRIBUTES = {"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"}


def _read(settings: Settings, topic: str, wanted: Any) -> list[Any]:
    """Messages of ``topic`` from the start, once one is ``wanted``: the wanted ones."""
    seen = read_topic(settings, topic, lambda seen: any(wanted(m) for m in seen), timeout=60)
    return [m for m in seen if wanted(m)]


def _headers(message: Any, kind: str) -> dict[str, str]:
    """The message's headers, after checking them and its body against docs/asyncapi.yaml."""
    names = [name for name, _ in message.headers]
    assert len(names) == len(set(names))
    headers = {name: value.decode() for name, value in message.headers}
    assert set(headers) >= CE_ATTRIBUTES, headers
    assert headers["ce_specversion"] == "1.0"
    assert headers["content-type"] == "application/json"
    datetime.fromisoformat(headers["ce_time"])  # RFC 3339
    for part, instance in (("headers", headers), ("payload", orjson.loads(message.value))):
        schema = message_schema(DOC, kind, part)
        check = jsonschema_rs.Draft7Validator(schema, validate_formats=True)
        assert [str(e) for e in check.iter_errors(instance)] == [], (kind, part)
    return headers


def _feed_values(
    settings: Settings, key: str, field: bytes, unpack: Callable[[bytes], bytes] = bytes
) -> set[bytes]:
    """The values of ``field`` in the Redis feed ``key``, as published (``unpack``ed)."""
    client = sync_client(settings.redis_url)
    return {unpack(fields[field]) for _, fields in client.xrange(key)}


def test_published_messages_carry_cloudevents_headers_and_unchanged_bodies(
    settings: Settings, worker: Proc
) -> None:
    f = EventFactory(source="tax-ce", seed=1414)  # a seed no other test uses: its own firm
    firm = f.uscc()
    producer = department_producer(settings)
    for _ in produce_events(producer, settings, [f.registered(firm), f.tax_arrears(firm, 3e5)]):
        pass
    producer.send(settings.topic_tax, key=b"ce-bad", value=b'["not an object"]')
    producer.flush()
    producer.close()
    source = event_source(settings.app_id)

    for topic in (settings.topic_alerts, settings.department_topic("tax")):
        fingerprint = f"tax_arrears:enterprise:{firm}".encode()
        [alert] = _read(settings, topic, lambda m, fp=fingerprint: m.key == fp)[-1:]
        headers, body = _headers(alert, "alert"), orjson.loads(alert.value)
        assert headers["ce_type"] == "riskwire.alert.v1"
        assert headers["ce_source"] == source
        assert headers["ce_id"] == f"{body['alert_id']}.{body['revision']}"
        assert headers["ce_subject"] == body["fingerprint"]
        assert headers["ce_time"] == body["updated_at"]
        assert alert.value in _feed_values(settings, ALERT_FEED, b"alert", feed_codec.decode)
        assert not {"specversion", "ce_id", "data"} & body.keys()

    [grade] = _read(settings, settings.topic_grades, lambda m: m.key == firm.encode())[-1:]
    headers, body = _headers(grade, "grade"), orjson.loads(grade.value)
    assert headers["ce_type"] == "riskwire.grade.v1"
    assert headers["ce_subject"] == firm
    assert headers["ce_time"] == body["time"]
    assert set(body) == {"uscc", "grade", "score", "previous_grade", "factors", "time"}
    assert grade.value in _feed_values(settings, GRADE_FEED, b"grade")

    [letter] = _read(settings, settings.topic_dlq, lambda m: m.key == b"ce-bad")
    headers, body = _headers(letter, "deadLetter"), orjson.loads(letter.value)
    assert headers["ce_type"] == "riskwire.dead_letter.v1"
    assert headers["ce_id"] == f"{settings.topic_tax}.{body['partition']}.{body['offset']}"
    assert "ce_subject" not in headers
    assert body["raw"] == '["not an object"]'
    assert body["reason"] == "not_object"
