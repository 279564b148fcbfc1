"""Features by event time, and the early-warning model's prequential discipline: it scores
before it learns, learns a separable relation, and survives a byte round trip unchanged."""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from rules.early_warning import EarlyWarning
from rules.models.early_warning import EarlyWarningModel, ModelConfig
from rules.models.features import (
    ANOMALY_SCORE,
    FEATURE_NAMES,
    FEATURE_NAMES_ZH,
    UNRATED,
    describe,
    features,
    label_of,
)
from streams.event import Subject
from streams.profile import (
    CaseRecord,
    DebtorCase,
    EnterpriseProfile,
    Listing,
    PersonCase,
    PersonProfile,
    PersonRef,
    Touch,
)
from streams.schemas.enforcement import PenaltyImposed

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def person(key: str, born: date, role: str | None = None) -> PersonRef:
    return PersonRef(key=key, masked="4403**********1234", name="张三", birth_date=born, role=role)


def profile() -> EnterpriseProfile:
    ent = EnterpriseProfile(
        uscc="91440300MA5DA1B2X1",
        name="示例公司",
        registered_on=date(2024, 3, 1),
        capital_registered=1_000_000.0,
        capital_paid=0.0,
        legal_rep=person("p-young", date(2003, 6, 1), "legal_rep"),
        officers=[person("p-old", date(1950, 1, 1), "director"), person("p-mid", date(1980, 1, 1))],
    )
    ent.contact_failures = [
        Touch(time=AT - 180 * DAY, kind="phone", department="tax"),  # the window's first day
        Touch(time=AT - 181 * DAY, kind="phone", department="tax"),  # before the window
        Touch(time=AT + DAY, kind="address", department="samr"),  # after the event
    ]
    ent.attention = [
        Touch(time=AT - 2 * DAY, kind="penalty", department="samr"),
        Touch(time=AT - 10 * DAY, kind="inspection", department="tax"),
        Touch(time=AT - 40 * DAY, kind="penalty", department="police"),
        Touch(time=AT + DAY, kind="penalty", department="court"),  # after the event
    ]
    ent.shareholder_changes = [Touch(time=AT - 5 * DAY, kind="shareholders")]
    ent.cases = {
        "c1": CaseRecord(case_no="c1", case_type="civil", role="defendant", filed_at=AT - 30 * DAY),
        "c2": CaseRecord(
            case_no="c2",
            case_type="civil",
            role="defendant",
            filed_at=AT - 60 * DAY,
            closed_at=AT - DAY,
        ),
        "c3": CaseRecord(case_no="c3", case_type="civil", role="plaintiff", filed_at=AT - DAY),
    }
    ent.abnormal = Listing(reason_code="unreachable_address", since=AT - 20 * DAY)
    ent.tax.arrears_outstanding = 350_000.0
    ent.tax.arrears_time = AT - 3 * DAY
    ent.tax.credit_rating, ent.tax.credit_time = "D", AT - 100 * DAY
    ent.tax.paid_by_period = {"2025-03": 100.0, "2025-04": 200.0, "2026-03": 300.0, "2026-04": 9.0}
    ent.tax.insured_employees, ent.tax.insured_period = 4, "2026-02"
    ent.tax.penalties_count = 2
    return ent


def people() -> dict[str, PersonProfile]:
    listed = DebtorCase(
        case_no="d1", listed_at=AT - DAY, event_id="e1", source="court", court="court"
    )
    crime = PersonCase(case_no="k1", case_type="criminal", time=AT + DAY, event_id="e2", source="x")
    return {
        "p-young": PersonProfile(key="p-young", debtor_cases={"d1": listed}),
        "p-old": PersonProfile(key="p-old", criminal_cases={"k1": crime}),  # after the event
    }


# -- features ---------------------------------------------------------------------------


def test_features_are_named_numbers_in_a_fixed_order() -> None:
    x = features(profile(), people(), AT)
    assert list(x) == list(FEATURE_NAMES)
    assert all(isinstance(v, float) and math.isfinite(v) for v in x.values())
    assert set(FEATURE_NAMES_ZH) == {*FEATURE_NAMES, ANOMALY_SCORE}


def test_features_count_by_event_time_with_both_window_ends() -> None:
    x = features(profile(), people(), AT)
    assert x["age_years"] == pytest.approx(730 / 365.25)
    assert x["capital_unpaid"] == 1.0
    assert x["failed_contacts_180d"] == 1.0  # day 180 counts, day 181 and the future do not
    assert x["penalties_365d"] == 2.0  # the penalty after the event does not count
    assert x["departments_30d"] == 2.0  # samr and tax; police is 40 days back
    assert x["open_defendant_cases_365d"] == 1.0  # c2 closed, c3 as plaintiff
    assert x["abnormal_listed"] == 1.0
    assert x["log_arrears"] == pytest.approx(math.log1p(350_000.0))
    assert x["tax_credit_rating"] == 4.0
    assert x["log_tax_paid_12m"] == pytest.approx(math.log1p(500.0))  # 2025-04 .. 2026-03
    assert x["log_insured_employees"] == pytest.approx(math.log1p(4))
    assert x["shareholder_changes_90d"] == 1.0
    assert x["dishonest_people"] == 1.0
    assert x["criminal_people"] == 0.0  # the criminal case comes after the event
    assert (x["young_officers"], x["old_officers"]) == (1.0, 1.0)


def test_facts_reported_after_the_event_are_not_known_at_it() -> None:
    earlier = AT - 50 * DAY
    x = features(profile(), people(), earlier)
    assert x["abnormal_listed"] == 0.0
    assert x["log_arrears"] == 0.0
    assert x["tax_credit_rating"] == 4.0  # rated 100 days before AT: known 50 days before
    assert x["log_insured_employees"] == 0.0  # the head count is of 2026-02
    assert x["dishonest_people"] == 0.0
    assert features(profile(), people(), AT - 200 * DAY)["tax_credit_rating"] == UNRATED


def test_features_are_deterministic_whatever_the_fold_order() -> None:
    a, b = profile(), profile()
    b.attention.reverse()
    b.contact_failures.reverse()
    b.tax.paid_by_period = dict(reversed(list(b.tax.paid_by_period.items())))
    b.officers.reverse()
    assert features(a, people(), AT) == features(b, people(), AT)
    assert features(a, people(), AT) == features(a, people(), AT)


def test_an_empty_profile_has_neutral_features() -> None:
    x = features(EnterpriseProfile(uscc="91440300MA5DA1B2X1"), {}, AT)
    assert x["tax_credit_rating"] == UNRATED
    assert sum(v for k, v in x.items() if k != "tax_credit_rating") == 0.0


def test_describe_reads_values_in_their_units() -> None:
    assert describe("failed_contacts_180d", 3.0) == "近180天联系失败（3次）"
    assert describe("log_arrears", math.log1p(350_000.0)) == "欠缴税款（约350,000元）"
    assert describe("abnormal_listed", 1.0) == "被列入经营异常名录（是）"
    assert describe("tax_credit_rating", 4.0) == "纳税信用等级（D级）"
    assert describe("age_years", 0.5) == "成立年限（0.5年）"
    assert describe(ANOMALY_SCORE, 0.7123) == "画像异常程度（0.71）"


@pytest.mark.parametrize(("found", "label"), [(True, True), (False, False), (None, None)])
def test_an_inspections_verdict_is_its_label(found: bool | None, label: bool | None) -> None:
    event, _ = EarlyWarning.example()
    data = event.data.model_copy(update={"violation_found": found})
    assert label_of(dataclasses.replace(event, data=data)) is label


def test_other_events_and_person_subjects_carry_no_label() -> None:
    event, _ = EarlyWarning.example()
    penalty = PenaltyImposed(decision_no="D-1", department="samr", amount=1e3, category="广告")
    assert label_of(dataclasses.replace(event, type="penalty.imposed", data=penalty)) is None
    data = event.data.model_copy(update={"violation_found": True})
    about_a_person = dataclasses.replace(event, data=data, subject=Subject("person", "k"))
    assert label_of(about_a_person) is None


# -- the model --------------------------------------------------------------------------


def synthetic(rng: random.Random) -> tuple[dict[str, float], bool]:
    """A labelled example: violations follow failed contacts, an abnormal listing, arrears
    and a bad credit rating; a young enterprise is a little riskier."""
    x = dict.fromkeys(FEATURE_NAMES, 0.0)
    x["age_years"] = rng.uniform(0.0, 20.0)
    x["log_capital"] = math.log1p(rng.choice([1e5, 1e6, 1e7]))
    x["failed_contacts_180d"] = float(rng.choice([0, 0, 0, 1, 2, 3]))
    x["abnormal_listed"] = float(rng.random() < 0.2)
    x["log_arrears"] = math.log1p(rng.choice([0.0, 0.0, 0.0, 5e4, 3e5]))
    x["tax_credit_rating"] = float(rng.randint(0, 4))
    x["log_tax_paid_12m"] = math.log1p(rng.uniform(0.0, 1e6))
    x["departments_30d"] = float(rng.randint(0, 3))
    logit = (
        -2.0
        + 0.9 * x["failed_contacts_180d"]
        + 1.5 * x["abnormal_listed"]
        + 0.15 * x["log_arrears"]
        + 0.5 * (x["tax_credit_rating"] - 2.0)
        - 0.1 * x["age_years"]
    )
    return x, rng.random() < 1.0 / (1.0 + math.exp(-logit))


def trained(n: int = 2_000, seed: int = 3) -> EarlyWarningModel:
    rng = random.Random(seed)
    model = EarlyWarningModel()
    for _ in range(n):
        model.learn(*synthetic(rng))
    return model


@pytest.fixture(scope="module")
def model() -> EarlyWarningModel:
    return trained()


def risky() -> dict[str, float]:
    x = dict.fromkeys(FEATURE_NAMES, 0.0)
    x.update(
        age_years=0.5,
        failed_contacts_180d=3.0,
        abnormal_listed=1.0,
        log_arrears=math.log1p(3e5),
        tax_credit_rating=4.0,
        log_tax_paid_12m=math.log1p(1e4),
    )
    return x


def safe() -> dict[str, float]:
    x = dict.fromkeys(FEATURE_NAMES, 0.0)
    x.update(age_years=15.0, tax_credit_rating=0.0, log_tax_paid_12m=math.log1p(8e5))
    return x


def test_an_untrained_model_is_undecided() -> None:
    warning = EarlyWarningModel().score(risky())
    assert warning.probability == 0.5
    assert (warning.anomaly_score, warning.contributions, warning.n_learned) == (0.0, (), 0)
    assert warning.auc is None


def test_the_model_learns_a_separable_relation_prequentially(model: EarlyWarningModel) -> None:
    assert model.n_learned == 2_000
    assert model.auc is not None
    assert model.auc > 0.8
    assert model.score(risky()).probability >= 0.9
    assert model.score(safe()).probability < 0.2


def test_score_then_learn_returns_the_score_from_before_learning(model: EarlyWarningModel) -> None:
    blob = model.to_bytes()
    x = risky()
    before = model.score(x)
    yes, no = EarlyWarningModel.from_bytes(blob), EarlyWarningModel.from_bytes(blob)
    expected = replace(before, auc=None)  # the AUC is only reported when scoring
    assert yes.score_then_learn(x, True) == expected == no.score_then_learn(x, False)
    # ...and learning did happen: the label moved the two copies apart.
    assert yes.score(x).probability > before.probability > no.score(x).probability
    assert yes.n_learned == no.n_learned == model.n_learned + 1


def test_scoring_changes_nothing(model: EarlyWarningModel) -> None:
    blob = model.to_bytes()
    first = model.score(risky())
    for _ in range(3):
        model.score(safe())
    assert model.score(risky()) == first
    assert model.to_bytes() == blob


def test_contributions_are_the_positive_pushes_largest_first(model: EarlyWarningModel) -> None:
    warning = model.score(risky())
    pushes = [c.contribution for c in warning.contributions]
    assert pushes
    assert all(p > 0 for p in pushes)
    assert pushes == sorted(pushes, reverse=True)
    top = {c.feature for c in warning.contributions[:3]}
    assert top <= {"failed_contacts_180d", "abnormal_listed", "log_arrears", "tax_credit_rating"}
    for c in warning.contributions:
        assert c.name_zh == FEATURE_NAMES_ZH[c.feature]
        assert c.value == pytest.approx(risky().get(c.feature, warning.anomaly_score))
        assert c.describe().startswith(c.name_zh + "（")


def test_a_byte_round_trip_scores_and_learns_identically(model: EarlyWarningModel) -> None:
    copy = EarlyWarningModel.from_bytes(model.to_bytes())
    rng = random.Random(99)
    for _ in range(50):
        x, _label = synthetic(rng)
        assert copy.score(x) == model.score(x)
    ahead_a, ahead_b = (EarlyWarningModel.from_bytes(model.to_bytes()) for _ in range(2))
    rng_a, rng_b = random.Random(7), random.Random(7)
    for _ in range(300):  # crosses a detector window: its seeded trees are restored too
        ahead_a.learn(*synthetic(rng_a))
        ahead_b.learn(*synthetic(rng_b))
    assert ahead_a.score(risky()) == ahead_b.score(risky())


def test_the_detector_learns_only_what_compliant_looks_like() -> None:
    violations, compliant = EarlyWarningModel(), EarlyWarningModel()
    rng = random.Random(5)
    for _ in range(violations.config.hst_window + 50):
        x, _label = synthetic(rng)
        violations.learn(x, True)
        compliant.learn(x, False)
    typical, _label = synthetic(rng)
    outlier = risky() | {"failed_contacts_180d": 12.0, "log_arrears": math.log1p(5e7)}
    assert violations.score(outlier).anomaly_score == 0.0  # its first window never filled
    assert compliant.score(outlier).anomaly_score > compliant.score(typical).anomaly_score


def test_from_bytes_refuses_what_it_did_not_write() -> None:
    blob = EarlyWarningModel().to_bytes()
    with pytest.raises(ValueError, match="checkpoint"):
        EarlyWarningModel.from_bytes(b"not a model")
    with pytest.raises(ValueError, match="configuration"):
        EarlyWarningModel.from_bytes(blob, ModelConfig(learning_rate=0.1))


def test_features_missing_from_x_are_an_error() -> None:
    x = risky()
    del x["log_arrears"]
    with pytest.raises(ValueError, match="log_arrears"):
        EarlyWarningModel().score(x)


def test_the_config_digest_names_features_and_parameters() -> None:
    assert ModelConfig().digest() == ModelConfig().digest()
    assert len(ModelConfig().digest()) == 12
    assert ModelConfig(seed=1).digest() != ModelConfig().digest()
    assert ModelConfig().digest(FEATURE_NAMES[:-1]) != ModelConfig().digest()
