"""Size caps (issue 9, item 1): every free-text field of an event has a cap (an identifier
or a list over it is dead-lettered ``too_large``, free text is cut with a marker), an
event time outside the accepted years is dead-lettered, and an alert stays under its bound
whatever its events and notes held."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from alerts.dedup import merge
from alerts.size import ALERT_LIMITS, bounded, bounded_json
from core.errors import DlqReason, InvalidEvent
from rules.base import Hit
from simulate.factory import EventFactory
from streams.alert import (
    Actor,
    Alert,
    AlertAction,
    AlertStatus,
    AlertSubject,
    Evidence,
    Severity,
    TimelineEntry,
)
from streams.clip import CUT_MARK
from streams.codec import Decoder
from streams.schemas.common import MAX_LABEL_CHARS, MAX_OFFICERS, MAX_PROSE_CHARS

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
UNIT = "91350100M000100Y43"
OFFICER = Actor(account_id="01OFFICER", name="王值班", department="tax")


def _decode(decoder: Decoder, ev: dict[str, Any]) -> Any:
    return decoder.decode(orjson.dumps(ev))


def _abnormal(factory: EventFactory, **data: Any) -> dict[str, Any]:
    return factory.event(
        "enterprise.abnormal_listed", factory.uscc(), {"reason_code": "other", **data}
    )


def test_a_600000_character_authority_is_cut_with_a_marker(
    decoder: Decoder, factory: EventFactory
) -> None:
    event = _decode(decoder, _abnormal(factory, authority="A" * 600_000, reason="x" * 9_000))
    assert event.data.authority == "A" * MAX_LABEL_CHARS + CUT_MARK
    assert event.data.reason == "x" * MAX_PROSE_CHARS + CUT_MARK


def test_free_text_under_its_cap_is_kept_whole(decoder: Decoder, factory: EventFactory) -> None:
    event = _decode(decoder, _abnormal(factory, authority="南山区市场监管局", reason="失联"))
    assert (event.data.authority, event.data.reason) == ("南山区市场监管局", "失联")


def _case(factory: EventFactory, **data: Any) -> dict[str, Any]:
    ev = factory.case_filed(factory.uscc())
    ev["data"].update(data)
    return ev


@pytest.mark.parametrize(
    "spoil",
    [
        lambda f: _case(f, case_no="号" * 5_000),
        lambda f: _case(f, court="院" * 5_000),
        lambda f: {**f.registered(), "id": "i" * 201},
        lambda f: {**f.registered(), "source": "s" * 201},
        lambda f: f.registered(officers=[f.person("director") for _ in range(MAX_OFFICERS + 1)]),
    ],
    ids=["case_no", "court", "envelope-id", "envelope-source", "officers"],
)
def test_an_identifier_or_list_over_its_cap_is_dead_lettered_too_large(
    decoder: Decoder, factory: EventFactory, spoil: Any
) -> None:
    with pytest.raises(InvalidEvent) as caught:
        _decode(decoder, spoil(factory))
    assert caught.value.reason is DlqReason.TOO_LARGE


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59+08:00", "1900-01-01T00:00:00+08:00"])
def test_an_event_time_outside_the_accepted_years_is_dead_lettered(
    decoder: Decoder, factory: EventFactory, when: str
) -> None:
    ev = {**factory.registered(), "time": when}
    with pytest.raises(InvalidEvent) as caught:
        _decode(decoder, ev)
    assert caught.value.reason is DlqReason.BAD_DATE


def _alert(**kw: Any) -> Alert:
    fields: dict[str, Any] = {
        "alert_id": "01ALERT",
        "fingerprint": f"person_many_companies:enterprise:{UNIT}",
        "rule_id": "person_many_companies",
        "rule_version": 1,
        "severity": Severity.HIGH,
        "subject": AlertSubject(kind="enterprise", id=UNIT),
        "enterprises": [UNIT],
        "title": "t",
        "explanation": "e",
        "evidence": [
            Evidence(event_id="e1", source="samr", type="enterprise.registered", time=NOW, fact="f")
        ],
        "departments": ["samr"],
        "event_time": NOW,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Alert(**(fields | kw))


def test_an_alert_with_100_notes_of_2000_control_characters_stays_under_its_bound() -> None:
    note = "\x01" * 2000  # six bytes each once JSON-escaped
    timeline = [
        TimelineEntry(
            at=NOW, action=AlertAction.ASSIGN, status=AlertStatus.ASSIGNED, by=OFFICER, note=note
        )
        for _ in range(100)
    ]
    alert = _alert(timeline=timeline, status_reason="王值班（tax）指派：" + note)
    assert len(alert.model_dump_json()) > 1024 * 1024  # what the broker refused
    out = bounded(alert)
    assert len(out.model_dump_json()) <= ALERT_LIMITS.max_bytes
    assert out.timeline
    assert out.timeline[-1] == timeline[-1], "the newest status change is kept"


@pytest.mark.parametrize("char", ["\x01", "字", "😀"], ids=["control", "cjk", "emoji"])
def test_the_stored_json_of_an_alert_is_within_its_bound_in_bytes(char: str) -> None:
    note = char * 2000
    timeline = [
        TimelineEntry(
            at=NOW, action=AlertAction.ASSIGN, status=AlertStatus.ASSIGNED, by=OFFICER, note=note
        )
        for _ in range(100)
    ]
    doc = bounded_json(_alert(timeline=timeline))
    assert len(doc.encode()) <= ALERT_LIMITS.max_bytes
    small = _alert()
    assert bounded_json(small) == small.model_dump_json()


def test_a_long_member_list_is_folded_into_enterprises_total() -> None:
    members = [f"{i:018d}" for i in range(2_000)]
    out = bounded(_alert(enterprises=members, enterprises_total=2_000))
    assert out.enterprises == members[: ALERT_LIMITS.enterprises]
    assert out.enterprises_total == 2_000


def test_a_folded_member_list_is_no_news_until_the_hub_changes() -> None:
    """A hub's hit names its newest members (as many as the hub read holds) and its count:
    the same hub again is no news; a member swapped, or the count grown, is."""
    members = [f"{i:018d}" for i in range(ALERT_LIMITS.enterprises + 100)]
    newest = members[-ALERT_LIMITS.enterprises :]
    stored = bounded(_alert(enterprises=newest, enterprises_total=len(members)))

    def hit(names: list[str], total: int) -> Hit:
        return Hit(
            rule_id="person_many_companies",
            rule_version=1,
            severity=Severity.HIGH,
            subject_kind="enterprise",
            subject_id=UNIT,
            enterprises=names,
            title="t",
            explanation="e",
            evidence=list(stored.evidence),
            enterprises_total=total,
        )

    assert merge(stored, hit(newest, len(members)), event_time=NOW, now=NOW) is None
    swapped = merge(stored, hit(["9" * 18, *newest[1:]], len(members)), event_time=NOW, now=NOW)
    assert swapped is not None
    assert swapped.enterprises[0] == "9" * 18
    grown = merge(stored, hit(newest, len(members) + 1), event_time=NOW, now=NOW)
    assert grown is not None
    assert bounded(grown).enterprises_total == len(members) + 1
