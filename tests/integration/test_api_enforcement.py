"""Field uploads through the real API: a valid ``enforcement.uploads`` event lands on the
enforcement topic keyed by its subject, as sent but for its ``source``, which riskwire
sets from the caller's department (so no department can forge another's event id);
anything the worker's decoder would
dead-letter is refused with the decoder's reason, and so is another department's event."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from core.settings import Settings
from simulate.factory import EventFactory

from .api_kit import Accounts, Who, client

pytestmark = [pytest.mark.redis, pytest.mark.kafka]


@pytest.fixture(scope="module")
def officer(settings: Settings, api_server: str) -> Who:
    return Accounts(settings, api_server).make("samr", "duty_officer", "现场执法员")


def _written(settings: Settings, accepted: dict[str, Any]) -> Any:
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )
    try:
        tp = TopicPartition(accepted["topic"], accepted["partition"])
        consumer.assign([tp])
        consumer.seek(tp, accepted["offset"])
        message = next(iter(consumer))
    finally:
        consumer.close()
    return message


def test_a_valid_upload_is_written_to_the_topic_with_the_departments_source(
    settings: Settings, api_server: str, officer: Who
) -> None:
    f = EventFactory(source="samr/field-app", seed=515)
    firm = f.uscc()
    event = f.inspection(firm, department="samr", violation=True)
    raw = orjson.dumps(event)
    with client(api_server, officer) as c:
        reply = c.post(
            "/api/v1/enforcement/uploads",
            content=raw,
            headers={"Content-Type": "application/json"},
        )
    assert reply.status_code == 202, reply.text
    accepted = reply.json()
    assert (accepted["event_id"], accepted["subject"]) == (event["id"], firm)
    assert accepted["source"] == "riskwire-api/samr"
    assert accepted["topic"] == settings.topic_enforcement
    message = _written(settings, accepted)
    assert message.key == firm.encode()
    assert orjson.loads(message.value) == {**event, "source": "riskwire-api/samr"}


def test_an_upload_cannot_forge_another_departments_event_id(
    settings: Settings, api_server: str, officer: Who
) -> None:
    """samr copies tax's source and event id: what lands is samr's own (source, id) pair,
    so tax's real event with that id is not pre-empted as a duplicate."""
    f = EventFactory(source="tax/field-app", seed=518)
    firm = f.uscc()
    forged = f.inspection(firm, department="samr")
    forged["source"] = "tax/field-app"
    with client(api_server, officer) as c:
        reply = c.post("/api/v1/enforcement/uploads", json=forged)
    assert reply.status_code == 202, reply.text
    written = orjson.loads(_written(settings, reply.json()).value)
    assert written["id"] == forged["id"]
    assert written["source"] == "riskwire-api/samr"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e.update(subject="91350100M000100Y44"), "bad_uscc"),
        (lambda e: e.update(type="tax.paid"), "wrong_topic"),
        (lambda e: e.update(type="inspection.exploded"), "unknown_type"),
        (lambda e: e.update(time="yesterday"), "bad_date"),
        (lambda e: e.update(specversion="0.3"), "bad_envelope"),
        (lambda e: e["data"].pop("inspector_id"), "bad_field"),
        (lambda e: e["data"].update(found_at_address="yes"), "bad_field"),
        (lambda e: e.update(subject="P:110105194912310021"), "bad_subject"),
    ],
)
def test_what_the_worker_would_dead_letter_is_refused_with_the_reason(
    api_server: str, officer: Who, mutate: object, reason: str
) -> None:
    f = EventFactory(source="samr/field-app", seed=516)
    event = f.inspection(f.uscc(), department="samr")
    mutate(event)  # type: ignore[operator]
    with client(api_server, officer) as c:
        reply = c.post("/api/v1/enforcement/uploads", json=event)
    assert reply.status_code == 422
    detail = reply.json()["detail"]
    assert f"（{reason}）" in detail
    assert "110105194912310021" not in detail


def test_not_json_too_large_and_another_departments_events_are_refused(
    settings: Settings, api_server: str, officer: Who
) -> None:
    f = EventFactory(source="samr/field-app", seed=517)
    with client(api_server, officer) as c:
        garbage = c.post(
            "/api/v1/enforcement/uploads",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
        assert garbage.status_code == 422
        assert "not_json" in garbage.json()["detail"]
        huge = f.inspection(f.uscc(), department="samr")
        huge["data"]["notes"] = "很" * (settings.max_message_bytes // 2)
        too_large = c.post("/api/v1/enforcement/uploads", json=huge)
        assert too_large.status_code == 422
        assert "too_large" in too_large.json()["detail"]
        theirs = c.post(
            "/api/v1/enforcement/uploads", json=f.inspection(f.uscc(), department="tax")
        )
        assert theirs.status_code == 422
        assert "本部门" in theirs.json()["detail"]
