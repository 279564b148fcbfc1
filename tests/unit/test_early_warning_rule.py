"""The ``early_warning`` rule decides on the model's score: it fires at 0.8 and above, with the
probability and the features that pushed it up, in zh-CN with their numbers."""

from __future__ import annotations

import dataclasses
import math
import random

import pytest

from rules.base import Facts, Hit, Need
from rules.early_warning import EarlyWarning
from rules.engine import RuleEngine
from rules.models.early_warning import EarlyWarningModel
from rules.models.features import FEATURE_NAMES
from rules.params import EarlyWarningParams
from streams.alert import Severity


def with_probability(probability: float, **changes: object) -> Facts:
    _, facts = EarlyWarning.example()
    warning = dataclasses.replace(facts.warning, probability=probability, **changes)
    return dataclasses.replace(facts, warning=warning)


def test_it_declares_what_it_reads() -> None:
    rule = EarlyWarning()
    assert (rule.rule_id, rule.version, rule.severity) == ("early_warning", 1, Severity.HIGH)
    assert {
        "inspection.recorded",
        "penalty.imposed",
        "contact.failed",
        "case.filed",
        "tax.arrears",
        "enterprise.abnormal_listed",
        "debtor.listed",
    } <= rule.inputs
    assert Need.PEOPLE in rule.needs
    assert rule.params.min_probability == 0.8


def test_it_fires_on_its_example_and_not_on_its_counter_example() -> None:
    rule = EarlyWarning()
    event, facts = EarlyWarning.example()
    hits = rule.evaluate(event, facts)
    assert len(hits) == 1
    assert isinstance(hits[0], Hit)
    assert rule.evaluate(*EarlyWarning.counter_example()) == ()
    assert rule.evaluate(event, facts) == hits  # deterministic


def test_it_explains_the_probability_and_the_top_factors_with_numbers() -> None:
    event, facts = EarlyWarning.example()
    (hit,) = EarlyWarning().evaluate(event, facts)
    assert isinstance(hit, Hit)
    assert (hit.subject_kind, hit.subject_id, hit.severity) == (
        "enterprise",
        facts.enterprise.uscc,
        Severity.HIGH,
    )
    assert hit.enterprises == [facts.enterprise.uscc]
    assert "91.3%" in hit.explanation
    assert "80%" in hit.explanation
    assert "近180天联系失败（3次）" in hit.explanation
    assert "被列入经营异常名录（是）" in hit.explanation
    assert "欠缴税款（约350,000元）" in hit.explanation
    assert "画像异常程度" not in hit.explanation  # only the top 3 factors
    assert "1,250条" in hit.explanation
    assert "0.86" in hit.explanation
    assert [e.event_id for e in hit.evidence] == [event.id]
    assert "91.3%" in hit.evidence[0].fact


@pytest.mark.parametrize(
    ("probability", "fires"), [(0.8, True), (0.95, True), (0.7999, False), (0.2, False)]
)
def test_it_fires_at_the_threshold_and_not_below(probability: float, fires: bool) -> None:
    event, _ = EarlyWarning.example()
    assert bool(EarlyWarning().evaluate(event, with_probability(probability))) is fires


def test_the_threshold_is_a_parameter() -> None:
    event, _ = EarlyWarning.example()
    strict, lax = (EarlyWarning(EarlyWarningParams(min_probability=p)) for p in (0.9, 0.6))
    assert strict.evaluate(event, with_probability(0.85)) == ()
    assert lax.evaluate(event, with_probability(0.65))


def test_it_is_silent_without_a_score_or_before_the_model_has_learned_enough() -> None:
    event, facts = EarlyWarning.example()
    rule = EarlyWarning()
    assert rule.evaluate(event, dataclasses.replace(facts, warning=None)) == ()
    assert rule.evaluate(event, with_probability(0.99, n_learned=99)) == ()
    assert rule.evaluate(event, with_probability(0.99, n_learned=100))


def test_a_score_without_positive_factors_still_explains_itself() -> None:
    event, _ = EarlyWarning.example()
    (hit,) = EarlyWarning().evaluate(event, with_probability(0.9, contributions=(), auc=None))
    assert isinstance(hit, Hit)
    assert "无单项突出因素" in hit.explanation
    assert "AUC" not in hit.explanation


def test_it_fires_through_the_engine_on_a_trained_models_score() -> None:
    rng = random.Random(1)
    model = EarlyWarningModel()
    for _ in range(1_500):
        x = dict.fromkeys(FEATURE_NAMES, 0.0)
        x["failed_contacts_180d"] = float(rng.randint(0, 3))
        x["log_tax_paid_12m"] = math.log1p(rng.uniform(0.0, 1e6))
        model.learn(x, rng.random() < 0.05 + 0.3 * x["failed_contacts_180d"])
    event, facts = EarlyWarning.example()
    risky = dict.fromkeys(FEATURE_NAMES, 0.0) | {"failed_contacts_180d": 3.0}
    engine = RuleEngine([EarlyWarning()])
    (hit,) = engine.evaluate(event, dataclasses.replace(facts, warning=model.score(risky)))
    assert isinstance(hit, Hit)
    assert "近180天联系失败（3次）" in hit.explanation
    calm = dict.fromkeys(FEATURE_NAMES, 0.0) | {"log_tax_paid_12m": math.log1p(5e5)}
    assert engine.evaluate(event, dataclasses.replace(facts, warning=model.score(calm))) == []
