"""CloudEvents binary-mode headers on what riskwire publishes: which topics get which
type, ids stable across a republish, times from the body or the injected clock, nothing
of a dead letter's key or raw input in a header, and the worker's publisher passing the
headers to the producer with the value untouched."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson

from core.clock import FakeClock
from core.errors import DlqReason, InvalidEvent
from processors.app import FaustPublisher
from processors.dead_letters import dead_letter_value
from processors.grades import grade_message
from processors.pipeline import DeadLetter, Incoming
from rules.grading import Grade
from streams.alert import Alert, AlertSubject, Evidence, Severity
from streams.cloudevents import CloudEventHeaders, EventType

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
USCC = "91350100M000100Y43"
RAW_ID = "11010519491231002X"


def stamper() -> CloudEventHeaders:
    return CloudEventHeaders(
        source="/riskwire/test",
        alerts_topic="riskwire.alerts",
        grades_topic="riskwire.grades",
        dlq_topic="riskwire.dlq",
        clock=FakeClock(NOW),
    )


def alert_body(revision: int = 3) -> bytes:
    alert = Alert(
        alert_id="01JALERT",
        fingerprint=f"tax_arrears:enterprise:{USCC}",
        rule_id="tax_arrears",
        rule_version=1,
        severity=Severity.HIGH,
        subject=AlertSubject(kind="enterprise", id=USCC),
        enterprises=[USCC],
        title="欠税",
        explanation="欠税 300,000 元",
        evidence=[Evidence(event_id="e1", source="tax", type="tax.arrears", time=NOW, fact="欠税")],
        departments=["tax"],
        event_time=NOW,
        created_at=NOW,
        updated_at=datetime(2026, 6, 1, 9, 5, tzinfo=UTC),
        revision=revision,
    )
    return alert.model_dump_json().encode()


def as_dict(headers: list[tuple[str, bytes]] | None) -> dict[str, str]:
    assert headers is not None
    names = [name for name, _ in headers]
    assert len(names) == len(set(names)), "a header appears twice"
    return {name: value.decode() for name, value in headers}


def test_alert_headers_on_the_alert_and_department_topics() -> None:
    body = alert_body()
    for topic in ("riskwire.alerts", "riskwire.alerts.tax"):
        headers = as_dict(stamper()(topic, body))
        assert headers == {
            "ce_specversion": "1.0",
            "ce_id": "01JALERT.3",
            "ce_source": "/riskwire/test",
            "ce_type": "riskwire.alert.v1",
            "ce_time": "2026-06-01T09:05:00Z",
            "ce_subject": f"tax_arrears:enterprise:{USCC}",
            "content-type": "application/json",
        }
    assert as_dict(stamper()("riskwire.alerts", alert_body(4)))["ce_id"] == "01JALERT.4"


def test_grade_id_is_stable_for_one_body_and_differs_for_another() -> None:
    grade = Grade.model_validate(
        {"grade": "C", "score": 61.5, "factors": [], "at": NOW.isoformat()}
    )
    body = grade_message(USCC, grade, "B")
    first, again = (
        as_dict(stamper()("riskwire.grades", body)),
        as_dict(stamper()("riskwire.grades", body)),
    )
    assert first == again
    assert first["ce_type"] == EventType.GRADE
    assert first["ce_subject"] == USCC
    assert first["ce_time"] == orjson.loads(body)["time"]
    other = grade_message(USCC, grade, "A")
    assert as_dict(stamper()("riskwire.grades", other))["ce_id"] != first["ce_id"]


def test_dead_letter_headers_hold_neither_key_nor_raw_input() -> None:
    raw = orjson.dumps({"subject": f"P:{RAW_ID}", "data": {"id_number": RAW_ID}})
    letter = DeadLetter(
        Incoming("court.filings", 2, 41, f"P:{RAW_ID}".encode(), raw, 0),
        InvalidEvent(DlqReason.UNKNOWN_TYPE, "unknown event type"),
    )
    headers = as_dict(stamper()("riskwire.dlq", dead_letter_value(letter)))
    assert headers["ce_id"] == "court.filings.2.41"
    assert headers["ce_type"] == "riskwire.dead_letter.v1"
    assert headers["ce_time"] == "2026-06-01T09:00:00Z"  # the injected clock
    assert "ce_subject" not in headers
    assert all(RAW_ID not in value for value in headers.values())


def test_other_topics_and_odd_bodies() -> None:
    stamp = stamper()
    assert stamp("registration.changes", b"{}") is None
    assert stamp.kind_of("riskwire.alertsx") is None
    odd = as_dict(stamp("riskwire.grades", b"not json"))
    assert len(odd["ce_id"]) == 32
    assert odd["ce_time"] == "2026-06-01T09:00:00Z"
    no_offset = b'{"topic": "riskwire.alerts", "partition": null, "offset": null}'
    assert len(as_dict(stamp("riskwire.dlq", no_offset))["ce_id"]) == 32  # a hash, not "None"
    long_subject = alert_body().replace(b"tax_arrears:enterprise:", b"x" * 5000)
    assert len(as_dict(stamp("riskwire.alerts", long_subject))["ce_subject"]) <= 512


class RecordingProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []

    async def send(self, *args: Any) -> asyncio.Future[None]:
        self.sent.append(args)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


class FakeApp:
    def __init__(self) -> None:
        self.producer = RecordingProducer()


async def test_worker_publisher_sends_the_headers_and_the_value_unchanged() -> None:
    app = FakeApp()
    body = alert_body()
    await FaustPublisher(app, stamper()).publish(  # type: ignore[arg-type]
        [("riskwire.alerts", b"fp", body), ("registration.changes", b"k", b"{}")]
    )
    (topic, key, value, _, _, headers), other = app.producer.sent
    assert (topic, key, value) == ("riskwire.alerts", b"fp", body)
    assert as_dict(headers)["ce_id"] == "01JALERT.3"
    assert other[5] is None
