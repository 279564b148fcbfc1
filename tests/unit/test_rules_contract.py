"""The contract every rule class passes (river's ``check_estimator`` for rules).

Each rule declares its id, version, severity, ``inputs`` and ``needs``, its params model
(``Rule[ItsParams]``, :mod:`rules.params`), and ``example(kit)`` / ``counter_example(kit)``
returning ``(event, facts)``. The same checks run on every one of them: it fires on its
example with a zh-CN explanation that states numbers and with evidence, stays silent on its
counter-example, is deterministic, does not change the facts it reads, is dispatched only
its declared inputs, handles every one of them, and its params' defaults round-trip
through the rules file.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rules.base import Clear, Facts, Hit, Need, Rule, Verdict
from rules.config import build_rules, load_rules_config, render
from rules.engine import RuleEngine, default_rules
from rules.examples import Kit, Raw
from rules.params import RuleParams
from rules.registry import DEFAULT_PARAMS, PENDING_PARAMS, RULE_CLASSES
from streams.alert import Severity
from streams.event import Event, Subject
from streams.profile import EnterpriseProfile
from streams.rule_catalog import RULE_IDS
from streams.schemas import EVENT_TYPES

from .example_kit import example_factory, example_kit

# The severities of the rule table in alerts.md.
SPEC_SEVERITY = {
    "same_address_cluster": Severity.HIGH,
    "frequent_shareholder_change": Severity.MEDIUM,
    "person_many_companies": Severity.HIGH,
    "dishonest_officer": Severity.CRITICAL,
    "abnormal_officer_age": Severity.MEDIUM,
    "unreachable_contact": Severity.HIGH,
    "shell_company": Severity.CRITICAL,
    "litigation_surge": Severity.MEDIUM,
    "tax_arrears": Severity.HIGH,
    "grade_downgrade": Severity.HIGH,
    "multi_department_attention": Severity.INFO,
    "early_warning": Severity.HIGH,
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _unregistered() -> list[type[Rule]]:
    """Rule classes written for the pending ids (``rules/<rule_id>.py``) before they are
    registered: the contract holds for them too."""
    found: list[type[Rule]] = []
    for rule_id in PENDING_PARAMS:
        try:
            module = importlib.import_module(f"rules.{rule_id}")
        except ModuleNotFoundError:
            continue
        found += [
            c
            for c in vars(module).values()
            if isinstance(c, type) and issubclass(c, Rule) and vars(c).get("rule_id") == rule_id
        ]
    return found


ALL_RULES: list[type[Rule]] = [*RULE_CLASSES, *_unregistered()]
rule_classes = pytest.mark.parametrize("cls", ALL_RULES, ids=lambda c: c.rule_id)


def example(cls: type[Rule], name: str) -> tuple[Event, Facts]:
    pair: tuple[Event, Facts] = getattr(cls, name)(example_kit())
    return pair


def hits(verdicts: Sequence[Verdict]) -> list[Hit]:
    return [v for v in verdicts if isinstance(v, Hit)]


# -- declarations ---------------------------------------------------------------------------


@rule_classes
def test_it_declares_what_it_is_and_reads(cls: type[Rule]) -> None:
    assert cls.rule_id in RULE_IDS
    assert cls.__module__ == f"rules.{cls.rule_id}"  # one module per rule, named by its id
    assert isinstance(cls.version, int)
    assert cls.version >= 1
    assert cls.severity is SPEC_SEVERITY[cls.rule_id]
    assert cls.inputs
    assert cls.inputs <= set(EVENT_TYPES)
    assert all(isinstance(n, Need) for n in cls.needs)


def test_every_rule_id_of_the_spec_is_registered_or_pending() -> None:
    registered = [cls.rule_id for cls in RULE_CLASSES]
    assert len(set(registered)) == len(registered)
    assert set(registered) | set(PENDING_PARAMS) == set(RULE_IDS)
    assert not set(registered) & set(PENDING_PARAMS)
    assert [r.rule_id for r in default_rules()] == registered


# -- example and counter-example -----------------------------------------------------------


@rule_classes
def test_it_fires_on_its_example(cls: type[Rule]) -> None:
    event, facts = example(cls, "example")
    assert event.type in cls.inputs
    fired = hits(cls().evaluate(event, facts))
    assert fired, f"{cls.rule_id} did not fire on its example"
    for hit in fired:
        assert (hit.rule_id, hit.rule_version, hit.severity) == (
            cls.rule_id,
            cls.version,
            cls.severity,
        )
        assert hit.subject_kind in ("enterprise", "person", "address")
        assert hit.subject_id
        assert hit.enterprises
        assert CJK.search(hit.title)
        assert CJK.search(hit.explanation)
        assert re.search(r"\d", hit.explanation), "the explanation states numbers"
        assert hit.evidence
        assert all(ev.event_id and ev.fact for ev in hit.evidence)


@rule_classes
def test_it_does_not_fire_on_its_counter_example(cls: type[Rule]) -> None:
    event, facts = example(cls, "counter_example")
    assert event.type in cls.inputs
    assert hits(cls().evaluate(event, facts)) == []


@rule_classes
def test_it_is_deterministic_and_leaves_the_facts_alone(cls: type[Rule]) -> None:
    for name in ("example", "counter_example"):
        event, facts = example(cls, name)
        before = facts.enterprise.model_dump()
        first = cls().evaluate(event, facts)
        assert cls().evaluate(event, facts) == first
        assert cls().evaluate(*example(cls, name)) == first  # the examples are stable too
        assert facts.enterprise.model_dump() == before


@rule_classes
def test_its_verdicts_name_the_rule(cls: type[Rule]) -> None:
    for name in ("example", "counter_example"):
        for verdict in cls().evaluate(*example(cls, name)):
            assert verdict.rule_id == cls.rule_id
            if isinstance(verdict, Clear):
                assert CJK.search(verdict.reason)


# -- dispatch --------------------------------------------------------------------------------


class Spy(Rule):
    """Stands in for a rule with the same inputs and records what the engine hands it."""

    def __init__(self, real: type[Rule]) -> None:
        super().__init__()
        self.rule_id = real.rule_id  # type: ignore[misc]
        self.inputs = real.inputs  # type: ignore[misc]
        self.needs = real.needs  # type: ignore[misc]
        self.seen: set[str] = set()

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Verdict]:
        self.seen.add(event.type)
        return ()


def test_the_engine_dispatches_only_declared_inputs() -> None:
    spies = [Spy(cls) for cls in ALL_RULES]
    engine = RuleEngine(spies)
    facts = Facts(enterprise=EnterpriseProfile(uscc="x"))
    at = datetime(2026, 3, 2, tzinfo=UTC)
    for etype, (family, model) in EVENT_TYPES.items():
        subject = Subject("enterprise", "x")
        engine.evaluate(Event("1", "t", etype, at, subject, model.model_construct(), family), facts)
        assert {s.rule_id for s in spies if etype in s.seen} == {
            s.rule_id for s in spies if etype in s.inputs
        }
    for spy in spies:
        assert spy.seen == spy.inputs


class Busy(Kit):
    """One enterprise with a bit of everything, and a sample event of every type for it."""

    def __init__(self) -> None:
        super().__init__(example_factory(seed=23))
        self.rep = self.person(age=17)
        self.subject = self.f.uscc()
        u = self.subject
        self.feed(
            self.f.debtor_listed_person(self.rep, time=self.day(-5)),
            self.registered(u, legal_rep=self.rep, capital_paid=0.0, day=-30),
            *[self.shareholders_changed(u, day=d) for d in (-20, -10, -1)],
            *[self.contact_failed(u, dept, day=d) for dept, d in (("samr", -9), ("tax", -2))],
            self.abnormal_listed(u, day=-8),
            *[self.f.case_filed(u, time=self.day(d)) for d in (-7, -6, -3)],
            self.f.tax_arrears(u, 300_000.0, time=self.day(-4)),
        )

    def samples(self, types: Iterable[str]) -> list[Raw]:
        u, rep, at = self.subject, self.rep, self.day(0)
        person = {"person": {k: v for k, v in rep.items() if k != "role"}}
        data: dict[str, tuple[str, dict[str, Any]]] = {
            "enterprise.registered": (u, self.registered(u, legal_rep=rep)["data"]),
            "enterprise.changed": (u, {"field": "capital_paid", "old": None, "new": 10.0}),
            "enterprise.deregistered": (u, {"reason": "注销"}),
            "enterprise.abnormal_listed": (u, self.abnormal_listed(u)["data"]),
            "enterprise.abnormal_removed": (u, {"reason": "已更正"}),
            "case.filed": (u, self.f.case_filed(u)["data"]),
            "case.closed": (u, {"case_no": "(2026)粤0305民初1号", "outcome": "调解"}),
            "person.case_involved": (
                "P:" + rep["id_number"],
                {**person, "case_no": "(2026)粤0305刑初1号", "case_type": "criminal"},
            ),
            "debtor.listed": (
                "P:" + rep["id_number"],
                self.f.debtor_listed_person(rep, case_no="(2026)粤0305执9号")["data"],
            ),
            "debtor.removed": (
                "P:" + rep["id_number"],
                {"case_no": "(2026)粤0305执1234号", "reason": "performed"},
            ),
            "tax.paid": (u, self.f.tax_paid(u)["data"]),
            "tax.arrears": (u, self.f.tax_arrears(u, 50_000.0)["data"]),
            "tax.arrears_cleared": (u, {"amount": 300_000.0}),
            "tax.penalty": (u, {"amount": 5_000.0, "reason": "逾期申报"}),
            "tax.credit_rated": (u, {"year": 2025, "rating": "D"}),
            "employment.reported": (u, self.f.employment(u)["data"]),
            "inspection.recorded": (u, self.f.inspection(u, department="police")["data"]),
            "penalty.imposed": (u, self.penalty(u, "drc")["data"]),
            "contact.failed": (u, self.contact_failed(u, "court")["data"]),
        }
        assert set(data) == set(EVENT_TYPES)
        return [self.f.event(t, *data[t], time=at) for t in sorted(types)]


@pytest.fixture
def busy() -> Busy:
    return Busy()


@rule_classes
def test_it_handles_every_input_on_a_busy_profile(cls: type[Rule], busy: Busy) -> None:
    """A real event of each input type, on a profile with a bit of everything: no error,
    and every verdict is this rule's."""
    rule = cls()
    for raw in busy.samples(cls.inputs):
        event, facts = busy.case(raw, uscc=busy.subject)
        for verdict in rule.evaluate(event, facts):
            assert verdict.rule_id == cls.rule_id


# -- params and the rules file --------------------------------------------------------------


@rule_classes
def test_its_params_model_is_its_own_and_its_defaults_round_trip(
    cls: type[Rule], tmp_path: Path
) -> None:
    model = cls.params_model
    assert issubclass(model, RuleParams)
    assert model is not RuleParams, f"{cls.rule_id} names no params model (Rule[...])"
    assert model.__name__ == type(cls()).__name__ + "Params"
    assert cls().params == model() == DEFAULT_PARAMS[cls.rule_id]  # the defaults, once
    path = tmp_path / "rules.toml"
    path.write_text(render({cls.rule_id: model().table()}), encoding="utf-8")
    config = load_rules_config(path)
    assert config.params(cls.rule_id) == model()
    assert cls.configured(config).params == model()


def test_the_registered_rules_build_from_a_config() -> None:
    assert [type(r) for r in build_rules()] == list(RULE_CLASSES)
