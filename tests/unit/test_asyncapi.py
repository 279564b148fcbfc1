"""``docs/asyncapi.yaml`` cannot drift: it is what the generator makes from the models,
it is a valid AsyncAPI 3.0.0 document, it names every topic riskwire reads and writes,
one event of every type that the decoder accepts validates against it (and one it
refuses does not), and the bodies and headers riskwire builds validate against the
output messages."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
import pytest
import yaml

from core.errors import DlqReason, InvalidEvent
from core.settings import Settings
from processors.dead_letters import dead_letter_value
from processors.grades import grade_message
from processors.pipeline import DeadLetter, Incoming
from simulate.factory import EventFactory
from streams import asyncapi
from streams.cloudevents import CloudEventHeaders
from streams.codec import Decoder
from streams.grade import Grade
from streams.identifiers import PersonKeyer
from streams.kafka import all_topics
from streams.schemas import EVENT_TYPES

from .test_cloudevents import alert_body, stamper

ROOT = Path(__file__).resolve().parents[2]
DOC: dict[str, Any] = yaml.safe_load((ROOT / "docs/asyncapi.yaml").read_text(encoding="utf-8"))
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def validator(message: str, part: str = "payload") -> jsonschema_rs.Validator:
    return jsonschema_rs.Draft7Validator(
        asyncapi.message_schema(DOC, message, part), validate_formats=True
    )


def test_the_committed_document_is_what_the_generator_makes() -> None:
    assert asyncapi.main(["--check"]) == 0, "run: python -m streams.asyncapi"
    assert (ROOT / "docs/asyncapi.yaml").read_text(encoding="utf-8") == asyncapi.render(
        asyncapi.document()
    )


def test_it_is_a_valid_asyncapi_3_document() -> None:
    spec = json.loads((ROOT / "docs/schemas/asyncapi-3.0.0.json").read_text(encoding="utf-8"))
    check = jsonschema_rs.Draft7Validator(spec)
    assert [str(e) for e in check.iter_errors(DOC)] == []
    broken = {**DOC, "operations": {"x": {"action": "publish", "channel": {}}}}
    assert not check.is_valid(broken)  # the schema does reject a 2.x-style operation


def test_every_topic_riskwire_reads_and_writes_is_a_channel() -> None:
    settings = Settings.model_construct()
    addresses = {c["address"] for c in DOC["channels"].values()}
    for topic, config in all_topics(settings).items():
        department = topic.removeprefix(settings.topic_alerts + ".")
        if department in settings.departments:
            assert settings.topic_alerts + ".{department}" in addresses
            enum = DOC["channels"]["departmentAlerts"]["parameters"]["department"]["enum"]
            assert department in enum
        else:
            assert topic in addresses
        if config.get("cleanup.policy") == "compact":
            [channel] = [c for c in DOC["channels"].values() if c["address"] == topic]
            assert channel["bindings"]["kafka"]["topicConfiguration"] == {
                "cleanup.policy": ["compact"]
            }


def one_event_of_each_type() -> dict[str, dict[str, Any]]:
    f = EventFactory(source="asyncapi-test", seed=11)
    firm, other = f.uscc(), f.uscc()
    rep = f.person()
    p = {k: v for k, v in rep.items() if k != "role"}
    samples = {
        "enterprise.registered": f.registered(firm, officers=[f.person("director")]),
        "enterprise.changed": f.changed(firm, "officers", [f.person("manager")]),
        "enterprise.deregistered": f.event("enterprise.deregistered", firm, {"reason": "注销"}),
        "enterprise.abnormal_listed": f.event(
            "enterprise.abnormal_listed",
            firm,
            {"reason_code": "unreachable_address", "reason": "查无", "authority": "市场监管局"},
        ),
        "enterprise.abnormal_removed": f.event("enterprise.abnormal_removed", firm, {}),
        "case.filed": f.case_filed(firm),
        "case.closed": f.event("case.closed", firm, {"case_no": "(2026)1号", "outcome": "调解"}),
        "person.case_involved": f.event(
            "person.case_involved",
            "P:" + rep["id_number"],
            {"person": p, "case_no": "(2026)2号", "case_type": "criminal"},
        ),
        "debtor.listed": f.debtor_listed_person(rep),
        "debtor.removed": f.event(
            "debtor.removed", other, {"case_no": "(2026)3号", "reason": "performed"}
        ),
        "tax.paid": f.tax_paid(firm),
        "tax.arrears": f.tax_arrears(firm, 120_000.0),
        "tax.arrears_cleared": f.event("tax.arrears_cleared", firm, {"amount": 120_000.0}),
        "tax.penalty": f.event("tax.penalty", firm, {"amount": 5_000.0, "reason": "逾期申报"}),
        "tax.credit_rated": f.event("tax.credit_rated", firm, {"year": 2025, "rating": "D"}),
        "employment.reported": f.employment(firm),
        "inspection.recorded": f.inspection(firm),
        "penalty.imposed": f.event(
            "penalty.imposed",
            firm,
            {"decision_no": "深市监罚1号", "department": "samr", "amount": 1e4, "category": "x"},
        ),
        "contact.failed": f.event(
            "contact.failed", firm, {"department": "tax", "channel": "phone"}
        ),
    }
    assert set(samples) == set(EVENT_TYPES)
    return samples


SAMPLES = one_event_of_each_type()


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_an_event_the_decoder_accepts_validates_against_its_message(event_type: str) -> None:
    event = SAMPLES[event_type]
    Decoder(PersonKeyer(b"k" * 32)).decode_object(json.loads(json.dumps(event)))
    assert [str(e) for e in validator(event_type).iter_errors(event)] == []


@pytest.mark.parametrize(
    ("event_type", "spoil"),
    [
        ("tax.credit_rated", lambda d: d.update(rating="E")),
        ("contact.failed", lambda d: d.pop("channel")),
        ("enterprise.registered", lambda d: d["legal_rep"].update(id_number="123")),
    ],
)
def test_an_event_the_decoder_refuses_fails_its_message(event_type: str, spoil: Any) -> None:
    event = json.loads(json.dumps(SAMPLES[event_type]))
    spoil(event["data"])
    with pytest.raises(InvalidEvent):
        Decoder(PersonKeyer(b"k" * 32)).decode_object(event)
    assert not validator(event_type).is_valid(event)


def output_valid(message: str, body: bytes, headers: list[tuple[str, bytes]] | None) -> None:
    assert [str(e) for e in validator(message).iter_errors(orjson.loads(body))] == []
    assert headers is not None
    as_map = {k: v.decode() for k, v in headers}
    assert [str(e) for e in validator(message, "headers").iter_errors(as_map)] == []


def test_the_bodies_and_headers_riskwire_publishes_validate() -> None:
    stamp: CloudEventHeaders = stamper()
    alert = alert_body()
    output_valid("alert", alert, stamp("riskwire.alerts.tax", alert))
    grade = Grade.model_validate({"grade": "D", "score": 80.0, "factors": [], "at": NOW})
    for previous in (None, "B"):
        body = grade_message("91350100M000100Y43", grade, previous)
        output_valid("grade", body, stamp("riskwire.grades", body))
    for raw in (b'{"id": 1}', b"\xff\xfe not utf-8"):
        letter = DeadLetter(
            Incoming("tax.events", 1, 9, None, raw, 0),
            InvalidEvent(DlqReason.NOT_JSON, "not JSON"),
        )
        body = dead_letter_value(letter)
        output_valid("deadLetter", body, stamp("riskwire.dlq", body))
    assert orjson.loads(body)["raw"] == base64.b64encode(raw).decode()


def test_a_body_with_an_unknown_field_fails_the_output_schema() -> None:
    body = orjson.loads(
        grade_message("91350100M000100Y43", Grade(score=1, grade="A", at=NOW), None)
    )
    body["surprise"] = 1
    assert not validator("grade").is_valid(body)
