"""The rule engine dispatches on declared inputs and isolates a failing rule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import orjson

from rules.base import Facts, Rule, Verdict
from rules.engine import RuleEngine
from rules.tax_arrears import TaxArrears
from simulate.factory import EventFactory
from streams.alert import Severity
from streams.codec import Decoder
from streams.event import Event
from streams.profile import EnterpriseProfile


class Broken(Rule):
    rule_id = "broken"
    version = 1
    severity = Severity.LOW
    inputs: ClassVar[frozenset[str]] = frozenset({"tax.arrears"})

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Verdict]:
        raise ZeroDivisionError("a bug")


def test_a_failing_rule_does_not_stop_the_others(decoder: Decoder, factory: EventFactory) -> None:
    uscc = factory.uscc()
    event = decoder.decode(orjson.dumps(factory.tax_arrears(uscc, 900_000.0)))
    profile = EnterpriseProfile(uscc=uscc)
    profile.tax.arrears_outstanding = 900_000.0
    profile.tax.arrears_time = event.time
    engine = RuleEngine([Broken(), TaxArrears()])
    verdicts = engine.evaluate(event, Facts(enterprise=profile))
    assert [v.rule_id for v in verdicts] == ["tax_arrears"]


def test_rules_only_see_their_inputs(decoder: Decoder, factory: EventFactory) -> None:
    engine = RuleEngine([Broken(), TaxArrears()])
    assert [r.rule_id for r in engine.rules_for("tax.arrears")] == ["broken", "tax_arrears"]
    assert engine.rules_for("tax.paid") == ()
    event = decoder.decode(orjson.dumps(factory.tax_paid(factory.uscc())))
    assert engine.evaluate(event, Facts(enterprise=EnterpriseProfile(uscc=event.subject.id))) == []
