"""The simulator: reproducible, contract-valid, ordered, the right size, and its truth names
every planted case and near-miss without ever holding a raw id_number."""

from __future__ import annotations

import gzip
import itertools
import re
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from core.errors import InvalidEvent
from core.settings import Settings
from simulate import Simulation, Truth, scale_named
from simulate.command import simulate_command
from simulate.truth import (
    MODEL_RULES,
    RULES,
    RuleStatus,
    grade_mix,
    roc_auc,
    score_rules,
    summary_line,
)
from simulate.writer import JsonLinesFile
from streams.address import normalise_address
from streams.codec import Decoder
from streams.event import Event
from streams.identifiers import PersonKeyer, is_valid_uscc, validate_id_number
from streams.schemas.common import Person
from streams.schemas.registration import Changed, Registered

SECRET = b"riskwire-simulate-unit-secret"
RAW_ID = re.compile(rb"\d{17}[\dX]")


def _is_id_number(text: str) -> bool:
    try:
        validate_id_number(text)
    except ValueError:
        return False
    return True


@pytest.fixture(scope="module")
def keyer() -> PersonKeyer:
    return PersonKeyer(SECRET)


@pytest.fixture(scope="module")
def small(keyer: PersonKeyer) -> tuple[Simulation, list[dict[str, Any]]]:
    sim = Simulation(scale_named("small"), seed=2017, keyer=keyer)
    return sim, list(sim.events())


@pytest.fixture(scope="module")
def decoded(small: tuple[Simulation, list[dict[str, Any]]], keyer: PersonKeyer) -> list[Event]:
    decoder = Decoder(keyer)
    return [decoder.decode(orjson.dumps(event)) for event in small[1]]


def test_same_seed_same_stream(keyer: PersonKeyer) -> None:
    def first(seed: int) -> list[bytes]:
        sim = Simulation(scale_named("small"), seed=seed, keyer=keyer)
        return [orjson.dumps(e) for e in itertools.islice(sim.events(), 10_000)]

    assert first(5) == first(5)
    assert first(5) != first(6)


def test_small_scale_is_about_2000_firms_and_50_to_100k_events(
    small: tuple[Simulation, list[dict[str, Any]]],
) -> None:
    sim, events = small
    assert 2_000 <= len(sim.population.enterprises) <= 2_500
    assert 50_000 <= len(events) <= 100_000
    assert sim.truth.events == len(events)
    types = Counter(e["type"] for e in events)
    topics = {t.split(".")[0] for t in types}
    assert {"enterprise", "case", "debtor", "person", "tax", "employment"} <= topics
    assert {"inspection", "penalty", "contact"} <= topics


def test_events_are_in_business_time_order(
    small: tuple[Simulation, list[dict[str, Any]]], decoded: list[Event]
) -> None:
    times = [e.time for e in decoded]
    assert times == sorted(times)
    assert small[1][-1]["time"] < "2026-01-01"


def test_every_event_decodes_and_identities_are_unique(
    small: tuple[Simulation, list[dict[str, Any]]], decoded: list[Event]
) -> None:
    assert len(decoded) == len(small[1])  # the fixture raised on any dead letter
    assert len({(e.source, e.id) for e in decoded}) == len(decoded)


def test_identifiers_are_valid(small: tuple[Simulation, list[dict[str, Any]]]) -> None:
    sim, events = small
    assert all(is_valid_uscc(e.uscc) for e in sim.population.enterprises)
    assert len({e.uscc for e in sim.population.enterprises}) == len(sim.population.enterprises)
    numbers = {
        p.id_number
        for e in sim.population.enterprises
        for p in [*e.people(), *(h.person for h in e.shareholders if h.person)]
    }
    for number in numbers:
        assert validate_id_number(number) == number
    for event in events:
        if event["subject"].startswith("P:"):
            validate_id_number(event["subject"][2:])
        else:
            assert is_valid_uscc(event["subject"])


def test_truth_has_cases_and_near_misses_of_every_rule(
    small: tuple[Simulation, list[dict[str, Any]]],
) -> None:
    truth = small[0].truth
    for rule in RULES:
        assert truth.expected(rule), f"no planted case of {rule}"
        assert truth.forbidden(rule), f"no near-miss of {rule}"
    assert not any(truth.expected(rule) & truth.forbidden(rule) for rule in RULES)
    cases = {(e.case.split("#")[0], e.fire) for e in truth.expectations}
    for must in (
        ("listed_then_appointed", True),
        ("appointed_then_listed", True),
        ("removed_then_appointed", False),
        ("cluster_day_outside", False),
        ("churn_day_outside", False),
        ("front_man_four", False),
        ("failures_day_outside", False),
        ("arrears_just_below", False),
        ("shell_too_old", False),
    ):
        assert must in cases


def test_planted_subjects_are_in_the_stream(
    small: tuple[Simulation, list[dict[str, Any]]], decoded: list[Event]
) -> None:
    registered: set[str] = set()
    addresses: Counter[str] = Counter()
    people: Counter[str] = Counter()
    for event in decoded:
        data = event.data
        if isinstance(data, Registered):
            registered.add(data.uscc)
            addresses[normalise_address(data.address_registered)] += 1
            serving = {data.legal_rep.key, *(o.key for o in data.officers)}
            people.update(serving)
        elif isinstance(data, Changed) and data.field == "address_registered":
            addresses[normalise_address(data.new)] += 1
        elif isinstance(data, Changed) and isinstance(data.new, Person):
            people[data.new.key] += 1
    for exp in small[0].truth.expectations:
        kind, subject = exp.fingerprint.split(":")[1:]
        if kind == "enterprise":
            assert subject in registered, exp
        elif kind == "address":
            assert addresses[subject] >= (5 if exp.fire else 4), exp
        elif exp.rule_id == "person_many_companies" and exp.fire:
            assert people[subject] >= 5, exp


def test_truth_file_holds_no_raw_id_number(
    small: tuple[Simulation, list[dict[str, Any]]], tmp_path: Path
) -> None:
    sim, _ = small
    raw = sim.truth.to_json()
    # Numeric USCCs look alike, but none is a valid id number.
    assert not any(_is_id_number(m.group().decode()) for m in RAW_ID.finditer(raw))
    numbers = {p.id_number for e in sim.population.enterprises for p in e.people()}
    assert not any(n.encode() in raw for n in numbers)
    again = Truth.from_json(raw)
    assert again.expectations == sim.truth.expectations
    assert again.labels == sim.truth.labels


def test_inspection_labels_follow_the_hidden_risk(
    small: tuple[Simulation, list[dict[str, Any]]],
) -> None:
    labels = small[0].truth.labels
    assert len(labels) > 500
    rate = sum(label for _, _, label in labels) / len(labels)
    assert 0.05 < rate < 0.5


def test_bad_events_are_optional_and_dead_letter(keyer: PersonKeyer) -> None:
    sim = Simulation(scale_named("tiny"), seed=1, keyer=keyer, bad_fraction=0.02)
    decoder = Decoder(keyer)
    bad = 0
    for event in sim.events():
        try:
            decoder.decode(orjson.dumps(event))
        except InvalidEvent:
            bad += 1
            assert event["id"].endswith("-bad")
    assert bad == sim.truth.dead_letters > 0


def test_simulate_writes_gzip_lines_and_truth(tmp_path: Path) -> None:
    out, truth = tmp_path / "events.jsonl.gz", tmp_path / "truth.json"
    settings = Settings(identity_secret=SECRET.decode())  # type: ignore[arg-type]
    status = simulate_command(settings, scale="tiny", seed=3, out=out, truth=truth)
    assert status == 0
    lines = gzip.decompress(out.read_bytes()).splitlines()
    written = Truth.from_json(truth.read_bytes())
    assert len(lines) == written.events > 5_000
    assert written.expected("tax_arrears")


def test_json_lines_file_is_one_event_per_line(tmp_path: Path) -> None:
    sink = JsonLinesFile(tmp_path / "e.jsonl")
    sink.write({"a": 1})
    sink.write({"b": "深圳"})
    sink.close()
    assert [orjson.loads(x) for x in (tmp_path / "e.jsonl").read_bytes().splitlines()] == [
        {"a": 1},
        {"b": "深圳"},
    ]


def test_scores_and_last_line() -> None:
    truth = Truth(seed=1, scale="tiny", run="1-1")
    from simulate.truth import Expectation

    truth.expectations = [
        Expectation("tax_arrears", "tax_arrears:enterprise:A", True, "c", ""),
        Expectation("tax_arrears", "tax_arrears:enterprise:B", False, "c", ""),
        Expectation("litigation_surge", "litigation_surge:enterprise:C", True, "c", ""),
        Expectation("early_warning", "early_warning:enterprise:D", True, "c", ""),
    ]
    fired = {"tax_arrears": {"tax_arrears:enterprise:A", "tax_arrears:enterprise:B"}}
    scores = {
        s.rule_id: s
        for s in score_rules(truth, fired, {"tax_arrears": 7}, {"tax_arrears", "early_warning"})
    }
    assert scores["tax_arrears"].precision == 0.5
    assert scores["tax_arrears"].recall == 1.0
    assert scores["tax_arrears"].alerts == 7
    assert scores["litigation_surge"].status is RuleStatus.NOT_IMPLEMENTED
    assert scores["early_warning"].status is RuleStatus.MODEL
    assert "early_warning" in MODEL_RULES
    line = summary_line(list(scores.values()), None, grade_mix(["A", "B", "B", "C"]))
    assert line == (
        "min_rule_precision=0.500 min_rule_recall=1.000 early_warning_auc=0.000 "
        "grade_mix=A:0.250,B:0.500,C:0.250,D:0.000"
    )


def test_roc_auc() -> None:
    assert roc_auc([(0.9, True), (0.1, False)]) == 1.0
    assert roc_auc([(0.5, True), (0.5, False)]) == 0.5
    assert roc_auc([(0.5, True)]) is None
