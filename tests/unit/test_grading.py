"""Grading: the contract's calibration (A and D), single issues in B or C, factor order and
texts, windows by event time, determinism, and the grade changes the pipeline records."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from processors.grades import (
    GradeChange,
    MemoryGradeStore,
    Recorded,
    Regrader,
    changed,
    grade_message,
    regrade,
)
from rules.grading import (
    DEFAULT_WEIGHTS,
    Cutoffs,
    Dimension,
    FactorCode,
    Grade,
    GradeWeights,
    grade,
)
from simulate.factory import EventFactory
from streams.codec import Decoder
from streams.profile import (
    CaseRecord,
    DebtorCase,
    EnterpriseProfile,
    Listing,
    PersonCase,
    PersonProfile,
    PersonRef,
    Tax,
    Touch,
)
from streams.profile_reducers import apply_to_enterprise, apply_to_person

AT = datetime(2026, 3, 15, 12, tzinfo=UTC)
USCC = "91440300MA5DA1B2XK"
REP = PersonRef(key="k-rep", masked="4403**********1234", name="王某", birth_date=date(1980, 5, 1))
DIRECTOR = PersonRef(
    key="k-dir",
    masked="4403**********5678",
    name="李某",
    birth_date=date(1975, 1, 1),
    role="director",
)


def months_before(at: datetime, n: int) -> list[str]:
    out, y, m = [], at.year, at.month
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out


def steady_tax(monthly: float = 40_000.0, months: int = 12, staff: int = 35) -> Tax:
    periods = months_before(AT, months)
    return Tax(
        paid_by_period={p: monthly for p in periods},
        insured_employees=staff,
        insured_period=periods[0],
    )


def ent(**fields: Any) -> EnterpriseProfile:
    return EnterpriseProfile(uscc=USCC, name="深圳市前海示例有限公司", legal_rep=REP, **fields)


def debtor(
    case_no: str = "(2026)粤0305执1234号", *, at: datetime = AT, amount: float = 350_000.0
) -> DebtorCase:
    return DebtorCase(
        case_no=case_no,
        court="南山法院",
        amount=amount,
        listed_at=at,
        event_id="court-9",
        source="court",
    )


def dishonest(ref: PersonRef = REP) -> dict[str, PersonProfile]:
    case = debtor(at=AT - timedelta(days=20))
    return {
        ref.key: PersonProfile(key=ref.key, masked=ref.masked, debtor_cases={case.case_no: case})
    }


def arrears(amount: float, *, at: datetime = AT - timedelta(days=10)) -> Tax:
    return Tax(
        arrears_outstanding=amount,
        arrears_since=date(2026, 1, 1),
        arrears_time=at,
        arrears_event_id="tax-1",
    )


def listing(at: datetime = AT - timedelta(days=30)) -> Listing:
    return Listing(reason_code="unreachable_address", authority="前海市场监管局", since=at)


def penalty(days_ago: float, department: str = "samr", eid: str = "pen-1") -> Touch:
    return Touch(
        time=AT - timedelta(days=days_ago), kind="penalty", department=department, event_id=eid
    )


def case(
    no: str, *, role: str = "defendant", days_ago: float = 30, closed: datetime | None = None
) -> CaseRecord:
    return CaseRecord(
        case_no=no,
        case_type="civil",
        role=role,
        amount=100_000.0,
        filed_at=AT - timedelta(days=days_ago),
        closed_at=closed,
    )


def codes(g: Grade) -> set[FactorCode]:
    return {f.code for f in g.factors}


# -- calibration ---------------------------------------------------------------------------


def test_nothing_adverse_and_steady_contributions_is_a() -> None:
    g = grade(ent(tax=steady_tax()), {}, AT)
    assert g.grade == "A"
    assert g.factors
    assert all(f.dimension is Dimension.CONTRIBUTIONS for f in g.factors)
    assert all(f.points < 0 for f in g.factors)


@pytest.mark.parametrize("tax_paid", [False, True], ids=["no-contributions", "steady-payer"])
def test_dishonest_legal_rep_arrears_and_abnormal_listing_is_d(tax_paid: bool) -> None:
    tax = arrears(5_000.0)  # even small arrears
    if tax_paid:
        steady = steady_tax(monthly=200_000.0, staff=300)
        tax = tax.model_copy(
            update={
                "paid_by_period": steady.paid_by_period,
                "insured_employees": 300,
                "insured_period": steady.insured_period,
                "credit_rating": "A",
                "credit_year": 2025,
            }
        )
    g = grade(ent(tax=tax, abnormal=listing()), dishonest(), AT)
    assert g.grade == "D", g
    assert {
        FactorCode.LEGAL_REP_DISHONEST,
        FactorCode.TAX_ARREARS,
        FactorCode.ABNORMAL_LISTING,
    } <= codes(g)
    if tax_paid:  # the contributions' cap keeps them from buying a better grade
        assert FactorCode.CREDIT_CAP in codes(g)
        assert sum(f.points for f in g.factors if f.dimension is Dimension.CONTRIBUTIONS) == -20.0


SINGLE_ISSUES: dict[str, tuple[dict[str, Any], Mapping[str, PersonProfile], str]] = {
    "abnormal listing": ({"abnormal": listing()}, {}, "C"),
    "large arrears": ({"tax": arrears(150_000.0)}, {}, "C"),
    "small arrears": ({"tax": arrears(5_000.0)}, {}, "B"),
    "one penalty": ({"attention": [penalty(40)]}, {}, "B"),
    "two tax penalties": ({"tax": Tax(penalties_count=2, penalties_total=15_000.0)}, {}, "B"),
    "two open cases": ({"cases": {"a": case("a"), "b": case("b")}}, {}, "B"),
    "enterprise dishonest": ({"debtor_cases": {"x": debtor("x")}}, {}, "C"),
    "dishonest legal rep": ({}, dishonest(), "C"),
    "dishonest director": ({"officers": [DIRECTOR]}, dishonest(DIRECTOR), "C"),
    "two failed contacts": (
        {"contact_failures": [Touch(time=AT - timedelta(days=d), kind="phone") for d in (3, 9)]},
        {},
        "B",
    ),
    "tax rating D": ({"tax": Tax(credit_rating="D", credit_year=2025)}, {}, "C"),
}


@pytest.mark.parametrize("issue", list(SINGLE_ISSUES))
def test_typical_single_issues_land_in_b_or_c(issue: str) -> None:
    fields, people, letter = SINGLE_ISSUES[issue]
    g = grade(ent(**fields), people, AT)
    assert g.grade == letter, g
    assert g.grade in ("B", "C")


def test_a_steady_payer_with_one_issue_stays_better_than_without_contributions() -> None:
    plain = grade(ent(abnormal=listing()), {}, AT)
    paying = grade(ent(abnormal=listing(), tax=steady_tax()), {}, AT)
    assert (plain.grade, paying.grade) == ("C", "B")


# -- factors -------------------------------------------------------------------------------


def test_factors_are_ordered_by_size_largest_first() -> None:
    g = grade(
        ent(
            abnormal=listing(),
            attention=[penalty(10)],
            tax=steady_tax().model_copy(update={"penalties_count": 1, "penalties_total": 2_000.0}),
        ),
        dishonest(),
        AT,
    )
    sizes = [abs(f.points) for f in g.factors]
    assert sizes == sorted(sizes, reverse=True)
    assert g.factors[0].code is FactorCode.LEGAL_REP_DISHONEST
    assert {f.dimension for f in g.factors} == set(Dimension)
    assert g.score == round(DEFAULT_WEIGHTS.base + sum(f.points for f in g.factors), 1)


def test_texts_are_zh_cn_with_their_numbers() -> None:
    tax = steady_tax(monthly=100_000.0).model_copy(
        update={"penalties_count": 2, "penalties_total": 15_000.0}
    )
    texts = {f.code: f.text_zh for f in grade(ent(tax=tax), dishonest(), AT).factors}
    assert texts[FactorCode.TAX_PENALTY] == "税务行政处罚2次，罚款合计15,000元 +12.0分"
    assert texts[FactorCode.LEGAL_REP_DISHONEST] == (
        "法定代表人王某（4403**********1234）被列入失信被执行人名单 +30.0分"
    )
    assert texts[FactorCode.TAX_PAID] == "近12个月纳税合计1,200,000元 −10.0分"
    assert texts[FactorCode.INSURED_EMPLOYEES] == "参保职工35人（2026-03） −4.0分"


def test_every_adverse_fact_has_its_factor() -> None:
    director = DIRECTOR
    crime = PersonCase(
        case_no="刑1",
        case_type="criminal",
        time=AT - timedelta(days=5),
        event_id="c-1",
        source="court",
    )
    people = dishonest() | {
        director.key: PersonProfile(key=director.key, criminal_cases={"刑1": crime})
    }
    g = grade(
        ent(
            officers=[director],
            abnormal=listing(),
            attention=[penalty(3)],
            cases={"a": case("a"), "e": case("e", role="executed_person")},
            debtor_cases={"x": debtor("x")},
            contact_failures=[Touch(time=AT - timedelta(days=2), kind="address", event_id="cf-1")],
            tax=arrears(150_000.0).model_copy(
                update={
                    "credit_rating": "D",
                    "credit_year": 2025,
                    "penalties_count": 1,
                    "penalties_total": 500.0,
                }
            ),
        ),
        people,
        AT,
    )
    assert codes(g) == {
        FactorCode.PENALTY_IMPOSED,
        FactorCode.TAX_PENALTY,
        FactorCode.CASES_DEFENDANT,
        FactorCode.CASES_EXECUTED,
        FactorCode.ENTERPRISE_DISHONEST,
        FactorCode.LEGAL_REP_DISHONEST,
        FactorCode.OFFICER_CRIMINAL,
        FactorCode.TAX_ARREARS,
        FactorCode.ABNORMAL_LISTING,
        FactorCode.CONTACT_FAILED,
        FactorCode.TAX_RATING_LOW,
    }
    assert (g.score, g.grade) == (100.0, "D")  # clamped
    assert {"pen-1", "court-9", "c-1", "cf-1", "tax-1"} <= set(g.rested_on)
    assert "董事李某（4403**********5678）涉及刑事案件1件" in "".join(f.text_zh for f in g.factors)


def test_tax_rating_a_and_b_are_contributions() -> None:
    a = grade(ent(tax=Tax(credit_rating="A", credit_year=2025)), {}, AT)
    b = grade(ent(tax=Tax(credit_rating="B", credit_year=2025)), {}, AT)
    m = grade(ent(tax=Tax(credit_rating="M", credit_year=2025)), {}, AT)
    assert [f.text_zh for f in a.factors] == ["2025年度纳税信用等级为A级 −8.0分"]
    assert b.factors[0].dimension is Dimension.CONTRIBUTIONS
    assert b.factors[0].points == -4.0
    assert m.factors == ()


# -- windows by event time -----------------------------------------------------------------


def test_penalty_window_includes_both_ends_and_ignores_later_facts() -> None:
    w = DEFAULT_WEIGHTS.penalty_window_days
    profile = ent(
        attention=[penalty(w, eid="edge"), penalty(w + 1, eid="old"), penalty(-1, eid="later")]
    )
    g = grade(profile, {}, AT)
    [f] = [f for f in g.factors if f.code is FactorCode.PENALTY_IMPOSED]
    assert f.points == DEFAULT_WEIGHTS.penalty_imposed
    assert g.rested_on == ("edge",)


def test_windows_count_business_days_in_china_standard_time() -> None:
    # AT is 20:00 CST; 00:30 CST on the same calendar day a year before is 365 business
    # days back, although more than 365 × 24 hours have passed.
    first_minutes = datetime(2025, 3, 14, 16, 30, tzinfo=UTC)
    profile = ent(attention=[Touch(time=first_minutes, kind="penalty", event_id="edge")])
    assert grade(profile, {}, AT).rested_on == ("edge",)
    assert grade(profile, {}, AT + timedelta(days=1)).rested_on == ()


def test_windows_follow_the_event_time_not_the_wall_clock() -> None:
    profile = ent(
        attention=[penalty(10)],
        contact_failures=[Touch(time=AT - timedelta(days=1), kind="phone")],
        tax=steady_tax(),
    )
    now = grade(profile, {}, AT)
    later = grade(profile, {}, AT + timedelta(days=400))  # everything fell out of its window
    before = grade(profile, {}, AT - timedelta(days=30))  # nothing had happened yet
    assert {FactorCode.PENALTY_IMPOSED, FactorCode.CONTACT_FAILED, FactorCode.TAX_PAID} <= codes(
        now
    )
    assert codes(later) == set()
    assert FactorCode.PENALTY_IMPOSED not in codes(before)
    assert FactorCode.CONTACT_FAILED not in codes(before)


def test_a_case_counts_while_open_at_the_event_time() -> None:
    closed = case("a", closed=AT - timedelta(days=1))
    closing_later = case("b", closed=AT + timedelta(days=1))
    too_old = case("c", days_ago=DEFAULT_WEIGHTS.case_window_days + 1)
    g = grade(ent(cases={"a": closed, "b": closing_later, "c": too_old}), {}, AT)
    [f] = [f for f in g.factors if f.code is FactorCode.CASES_DEFENDANT]
    assert "未结案件1件" in f.text_zh
    assert "100,000元" in f.text_zh


def test_contributions_count_the_last_twelve_months() -> None:
    old = {p: 500_000.0 for p in months_before(AT - timedelta(days=400), 12)}
    g = grade(
        ent(tax=Tax(paid_by_period=old, insured_employees=50, insured_period="2024-01")), {}, AT
    )
    assert g.factors == ()


def test_state_facts_dated_after_the_event_time_do_not_count() -> None:
    profile = ent(
        abnormal=listing(AT + timedelta(days=1)), tax=arrears(150_000.0, at=AT + timedelta(days=1))
    )
    assert grade(profile, {}, AT).factors == ()
    assert grade(profile, {}, AT + timedelta(days=2)).grade == "D"


# -- determinism and configuration ---------------------------------------------------------


def test_grading_is_deterministic() -> None:
    people = dishonest() | {DIRECTOR.key: dishonest(DIRECTOR)[DIRECTOR.key]}
    profile = ent(officers=[DIRECTOR], abnormal=listing(), tax=steady_tax())
    one = grade(profile, people, AT)
    two = grade(profile.model_copy(deep=True), dict(reversed(list(people.items()))), AT)
    shanghai = grade(profile, people, AT.astimezone(timezone(timedelta(hours=8))))
    assert one.model_dump_json() == two.model_dump_json() == shanghai.model_dump_json()
    assert one.signature() == two.signature()
    assert one.at == AT


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        grade(ent(), {}, AT.replace(tzinfo=None))


def test_weights_and_cutoffs_are_configurable_and_strict() -> None:
    strict = GradeWeights(cutoffs=Cutoffs(a=10.0, b=30.0, c=40.0), abnormal_listing=25.0)
    assert grade(ent(abnormal=listing()), {}, AT, strict).grade == "D"
    assert GradeWeights.model_validate({"cutoffs": {"c": 55.0}}).cutoffs.c == 55.0
    with pytest.raises(ValidationError, match="extra"):
        GradeWeights.model_validate({"abnormal": 1.0})
    with pytest.raises(ValidationError, match="rise"):
        Cutoffs(a=50.0, b=40.0)
    with pytest.raises(ValidationError, match="largest threshold first"):
        GradeWeights(arrears_tiers=((1.0, 10.0), (100_000.0, 20.0)))


def test_grades_from_decoded_events(decoder: Decoder, factory: EventFactory) -> None:
    """The profiles the reducers build from contract events grade as the profiles above."""
    rep = factory.person()
    uscc = factory.uscc()
    t0 = datetime(2026, 1, 10, tzinfo=UTC)
    profile = EnterpriseProfile(uscc=uscc)
    for raw in (
        factory.registered(uscc, legal_rep=rep, time=t0),
        factory.event(
            "enterprise.abnormal_listed",
            uscc,
            {"reason_code": "unreachable_address", "reason": "查无此址", "authority": "前海"},
            time=t0 + timedelta(days=5),
        ),
        factory.tax_arrears(uscc, 120_000.0, time=t0 + timedelta(days=6)),
    ):
        apply_to_enterprise(profile, decoder.decode(orjson.dumps(raw)))
    listed = decoder.decode(
        orjson.dumps(factory.debtor_listed_person(rep, time=t0 + timedelta(days=7)))
    )
    person = PersonProfile(key=listed.subject.id)
    apply_to_person(person, listed)
    at = t0 + timedelta(days=8)
    assert grade(profile, {}, at).grade == "D"  # abnormal listing + large arrears
    g = grade(profile, {person.key: person}, at)
    assert g.score == 95.0
    assert rep["id_number"] not in g.model_dump_json()
    assert g.factors[0].code is FactorCode.LEGAL_REP_DISHONEST


# -- grade changes (processors.grades) -----------------------------------------------------


def test_a_change_is_a_new_letter_not_a_score_jitter() -> None:
    b1 = grade(ent(tax=arrears(5_000.0)), {}, AT)
    b2 = grade(ent(attention=[penalty(3)]), {}, AT)
    c = grade(ent(abnormal=listing()), {}, AT)
    assert (b1.grade, b2.grade, c.grade) == ("B", "B", "C")
    assert b1.score != b2.score
    assert changed(None, b1)
    assert not changed(b1, b2)
    assert changed(b2, c)


def test_regrade_grades_at_the_time_its_facts_give() -> None:
    """A grade is a function of the facts and the time they give, not of the grade before:
    a later grade may be for an earlier time (a late fact showed the later one wrong)."""
    profile = ent(attention=[penalty(10)])
    previous = grade(profile, {}, AT)
    earlier = regrade(profile, {}, event_time=AT - timedelta(days=3), previous=previous, basis=4)
    assert earlier.current.at == AT - timedelta(days=3)
    assert (earlier.previous, earlier.basis) == (previous, 4)
    assert not earlier.changed
    first = regrade(profile, {}, event_time=AT - timedelta(days=3), previous=None)
    assert first.current.at == AT - timedelta(days=3)
    assert first.changed


def test_regrader_threads_each_enterprise_through_the_batch() -> None:
    regrader = Regrader({})
    one = regrader.regrade(ent(), {}, AT)
    two = regrader.regrade(ent(abnormal=listing()), {}, AT + timedelta(hours=1))
    assert one.previous is None
    assert two.previous == one.current
    assert [c.changed for c in regrader.changes] == [True, True]
    assert regrader.latest[USCC] == two.current


def test_the_grades_message_follows_the_contract() -> None:
    g = grade(ent(abnormal=listing()), {}, AT)
    msg = orjson.loads(grade_message(USCC, g, "B"))
    assert list(msg) == ["uscc", "grade", "score", "previous_grade", "factors", "time"]
    assert (msg["uscc"], msg["grade"], msg["score"], msg["previous_grade"]) == (
        USCC,
        "C",
        45.0,
        "B",
    )
    assert msg["time"] == "2026-03-15T12:00:00Z"
    assert msg["factors"][0]["code"] == "abnormal_listing"
    assert set(msg["factors"][0]) == {"code", "dimension", "points", "text_zh"}


async def test_the_memory_store_records_as_redis_does() -> None:
    store = MemoryGradeStore()
    b = grade(ent(), {}, AT)
    b_later = grade(ent(), {}, AT + timedelta(days=1))
    c = grade(ent(abnormal=listing()), {}, AT + timedelta(days=2))
    changes = [
        GradeChange(USCC, None, b, 1),
        GradeChange(USCC, b, b_later, 2),
        GradeChange(USCC, b, c, 3),
    ]
    assert await store.record(changes) == [Recorded.CHANGED, Recorded.UNCHANGED, Recorded.CHANGED]
    assert await store.record(changes) == [Recorded.STALE, Recorded.STALE, Recorded.UNCHANGED]
    assert await store.current([USCC, "other"]) == {USCC: c}
    assert await store.history(USCC) == [c, b]
    assert await store.as_of(USCC, AT + timedelta(days=1)) == b
    assert [orjson.loads(m)["previous_grade"] for m in store.feed] == [None, "B"]
    # from a newer profile, a grade for an earlier time: the later one leaves the history
    fixed = grade(ent(), {}, AT + timedelta(hours=12))
    assert await store.record([GradeChange(USCC, c, fixed, 4)]) == [Recorded.CHANGED]
    assert await store.current([USCC]) == {USCC: fixed}
    assert await store.history(USCC) == [fixed, b]
    assert await store.as_of(USCC, AT + timedelta(days=3)) == fixed
