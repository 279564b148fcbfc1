"""Decoding: every bad input of the contract's list is refused with a readable reason that
never contains a raw id_number; good input comes out keyed."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from core.errors import DlqReason, InvalidEvent
from simulate.factory import EventFactory
from streams.codec import Decoder
from streams.schemas.common import Family
from streams.schemas.registration import Registered


def _raw(ev: dict[str, Any]) -> bytes:
    return orjson.dumps(ev)


def test_registered_event_decodes_with_people_keyed(
    decoder: Decoder, factory: EventFactory
) -> None:
    ev = factory.registered()
    event = decoder.decode(_raw(ev), Family.REGISTRATION)
    assert event.subject.kind == "enterprise"
    assert event.subject.id == ev["subject"]
    assert isinstance(event.data, Registered)
    rep = event.data.legal_rep
    raw_id = ev["data"]["legal_rep"]["id_number"]
    assert rep.masked == raw_id[:4] + "*" * 10 + raw_id[-4:]
    assert len(rep.key) == 32
    assert rep.key != raw_id
    assert raw_id not in event.data.model_dump_json()
    assert raw_id not in repr(event)


def test_person_subject_is_keyed(decoder: Decoder, factory: EventFactory) -> None:
    who = factory.person()
    event = decoder.decode(_raw(factory.debtor_listed_person(who)), Family.COURT)
    assert event.subject.kind == "person"
    assert who["id_number"] not in event.subject.id
    assert event.subject.id == event.data.person.key


def test_same_source_and_id_is_the_same_event(decoder: Decoder, factory: EventFactory) -> None:
    ev = factory.tax_paid(factory.uscc())
    assert decoder.decode(_raw(ev)).eid == decoder.decode(_raw(copy.deepcopy(ev))).eid
    other = dict(ev, source="another-bureau")
    assert decoder.decode(_raw(other)).eid != decoder.decode(_raw(ev)).eid


def _mutations(f: EventFactory) -> list[tuple[str, bytes, DlqReason]]:
    good = f.registered()
    person_ev = f.debtor_listed_person(f.person())

    def mutate(ev: dict[str, Any], path: list[str], value: Any) -> bytes:
        ev = copy.deepcopy(ev)
        node = ev
        for part in path[:-1]:
            node = node[part]
        if value is _DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value
        return _raw(ev)

    bad_uscc = good["subject"][:-1] + ("0" if good["subject"][-1] != "0" else "1")
    rep_id = good["data"]["legal_rep"]["id_number"]
    bad_id = rep_id[:-1] + ("0" if rep_id[-1] != "0" else "1")
    return [
        ("not json", b"{not json", DlqReason.NOT_JSON),
        ("not an object", b"[1, 2]", DlqReason.NOT_OBJECT),
        ("unknown type", mutate(good, ["type"], "enterprise.teleported"), DlqReason.UNKNOWN_TYPE),
        ("missing field", mutate(good, ["data", "name"], _DELETE), DlqReason.BAD_FIELD),
        ("mistyped field", mutate(good, ["data", "capital_paid"], "lots"), DlqReason.BAD_FIELD),
        ("missing id", mutate(good, ["id"], _DELETE), DlqReason.BAD_ENVELOPE),
        ("bad uscc subject", mutate(good, ["subject"], bad_uscc), DlqReason.BAD_USCC),
        ("bad uscc in data", mutate(good, ["data", "uscc"], bad_uscc), DlqReason.BAD_USCC),
        (
            "bad id_number",
            mutate(good, ["data", "legal_rep", "id_number"], bad_id),
            DlqReason.BAD_ID_NUMBER,
        ),
        ("bad P: subject", mutate(person_ev, ["subject"], "P:" + bad_id), DlqReason.BAD_ID_NUMBER),
        ("bad date", mutate(good, ["data", "registered_on"], "2026-02-30"), DlqReason.BAD_DATE),
        ("bad time", mutate(good, ["time"], "yesterday"), DlqReason.BAD_DATE),
        (
            "over 1 MiB",
            mutate(good, ["data", "business_scope"], "x" * (1024 * 1024)),
            DlqReason.TOO_LARGE,
        ),
    ]


_DELETE = object()


@pytest.mark.parametrize("case", range(13))
def test_bad_input_is_refused_with_a_reason(decoder: Decoder, case: int) -> None:
    name, raw, reason = _mutations(EventFactory(source="test", seed=3))[case]
    with pytest.raises(InvalidEvent) as info:
        decoder.decode(raw, Family.REGISTRATION if b"debtor" not in raw else Family.COURT)
    assert info.value.reason is reason, name
    assert info.value.detail  # a sentence a person can read


def test_reasons_never_hold_a_raw_id_number(decoder: Decoder) -> None:
    f = EventFactory(source="test", seed=5)
    cases = _mutations(f)
    ids = {m for _, raw, _ in cases for m in _id_numbers(raw)}
    assert len(ids) >= 2
    for name, raw, _ in cases:
        with pytest.raises(InvalidEvent) as info:
            decoder.decode(raw)
        for number in ids:
            assert number[:14] not in str(info.value), name


def _id_numbers(raw: bytes) -> set[str]:
    """Every 18-character id-like string in a message (also a mutated, invalid one)."""
    import re

    return set(re.findall(r"\d{17}[\dX]", raw.decode("utf-8", "replace")))


def test_event_on_the_wrong_topic_is_refused(decoder: Decoder, factory: EventFactory) -> None:
    with pytest.raises(InvalidEvent) as info:
        decoder.decode(_raw(factory.tax_paid(factory.uscc())), Family.COURT)
    assert info.value.reason is DlqReason.WRONG_TOPIC


def test_enterprise_changed_types_new_by_field(decoder: Decoder, factory: EventFactory) -> None:
    uscc = factory.uscc()
    ok = decoder.decode(_raw(factory.changed(uscc, "officers", [factory.person("manager")])))
    assert ok.data.new[0].role == "manager"
    with pytest.raises(InvalidEvent):
        decoder.decode(_raw(factory.changed(uscc, "capital_paid", "unknown")))
    with pytest.raises(InvalidEvent):
        decoder.decode(_raw(factory.changed(uscc, "colour", "blue")))


def test_data_naming_another_subject_is_refused(decoder: Decoder, factory: EventFactory) -> None:
    """Where the data names the subject again (``data.uscc``, ``data.person``), a
    mismatch with the envelope's subject is a bad subject, not a silent pick of one."""
    other_firm = dict(factory.registered(), subject=factory.uscc())
    someone, someone_else = factory.person(), factory.person()
    other_person = dict(
        factory.debtor_listed_person(someone), subject="P:" + someone_else["id_number"]
    )
    for ev, family in ((other_firm, Family.REGISTRATION), (other_person, Family.COURT)):
        with pytest.raises(InvalidEvent) as info:
            decoder.decode(_raw(ev), family)
        assert info.value.reason is DlqReason.BAD_SUBJECT
        assert "differs from the subject" in info.value.detail


def test_enterprise_debtor_under_a_person_subject_is_refused(
    decoder: Decoder, factory: EventFactory
) -> None:
    ev = factory.debtor_listed_person(factory.person())
    ev["data"]["debtor_type"] = "enterprise"
    ev["data"]["uscc"] = factory.uscc()
    with pytest.raises(InvalidEvent) as info:
        decoder.decode(_raw(ev), Family.COURT)
    assert info.value.reason is DlqReason.BAD_SUBJECT
