"""``grade_downgrade``: fires while the grade is C or D and worse than the grade the
enterprise came in with (from the facts dated before its first fact), clears when it rises
out or when no fall remains, whatever order the facts arrived in."""

from __future__ import annotations

import gc
import weakref
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from alerts.dedup import merge, new_alert
from rules.base import Clear, Facts, Hit, Need
from rules.engine import RuleEngine
from rules.grade_downgrade import GradeDowngrade
from rules.grading import DEFAULT_WEIGHTS, Grade, Letter, grade
from rules.params import GradeDowngradeParams
from streams.alert import Severity
from streams.event import Event, Subject
from streams.profile import EnterpriseProfile, Listing, Tax, Touch
from streams.schemas import EVENT_TYPES
from streams.schemas.common import Family
from streams.schemas.enforcement import ContactFailed

from .example_kit import example_kit

AT = datetime(2026, 3, 15, 12, tzinfo=UTC)
USCC = "91440300MA5DA1B2XK"
EVENT = Event(
    id="enf-7",
    source="samr",
    type="contact.failed",
    time=AT,
    subject=Subject("enterprise", USCC),
    data=ContactFailed(department="samr", channel="phone"),
    family=Family.ENFORCEMENT,
)


def profile(**fields: object) -> EnterpriseProfile:
    return EnterpriseProfile.model_validate({"uscc": USCC, "name": "示例公司", **fields})


def graded(letter: Letter) -> tuple[EnterpriseProfile, Grade]:
    """A profile that grades ``letter`` (four factors for ``D``)."""
    fails = [Touch(time=AT - timedelta(days=d), kind="phone") for d in (1, 2)]
    arrears = Tax(arrears_outstanding=150_000.0, arrears_since=date(2026, 1, 1), penalties_count=1)
    listing = Listing(reason_code="unreachable_address", since=AT - timedelta(days=5))
    by_letter: dict[str, dict[str, object]] = {
        "A": {
            "tax": Tax(
                credit_rating="A", credit_year=2025, insured_employees=20, insured_period="2026-03"
            )
        },
        "B": {},
        "C": {"contact_failures": fails, "tax": Tax(penalties_count=1, penalties_total=800.0)},
        "D": {"contact_failures": fails, "tax": arrears, "abnormal": listing},
    }
    ent = profile(**by_letter[letter])
    g = grade(ent, {}, AT)
    assert g.grade == letter
    return ent, g


FIRST = AT - timedelta(days=400)  # before every dated fact of the profiles above


def facts(before: Letter | None, after: Letter, first: datetime = FIRST) -> Facts:
    """Graded ``after`` now, ``before`` as stored before this batch; first seen at ``first``."""
    ent, now = graded(after)
    ent = ent.model_copy(update={"first_event_time": first})
    return Facts(enterprise=ent, grade=now, previous_grade=graded(before)[1] if before else None)


@pytest.mark.parametrize(
    ("before", "first", "after"),
    [("B", "B", "C"), ("A", "C", "D"), ("B", "C", "D"), ("C", "C", "D"), (None, "B", "C")],
)
def test_fires_when_the_grade_is_c_or_d_and_worse_than_the_first(
    before: Letter | None, first: Letter, after: Letter
) -> None:
    f = facts(before, after)
    [hit] = GradeDowngrade().evaluate(EVENT, f)
    assert isinstance(hit, Hit)
    assert (hit.rule_id, hit.rule_version, hit.severity) == ("grade_downgrade", 2, Severity.HIGH)
    assert (hit.subject_kind, hit.subject_id, list(hit.enterprises)) == ("enterprise", USCC, [USCC])
    assert hit.title == f"示例公司：信用等级降为{after}"
    assert f"信用等级由{first}降为{after}" in hit.explanation
    assert f"风险分{f.grade.score:.1f}分" in hit.explanation
    for factor in f.grade.factors[:3]:
        assert factor.text_zh in hit.explanation
    [evidence] = hit.evidence
    assert (evidence.event_id, evidence.type) == ("enf-7", "contact.failed")


def test_the_explanation_names_the_top_three_factors_in_order() -> None:
    f = facts("B", "D")
    [hit] = GradeDowngrade().evaluate(EVENT, f)
    assert isinstance(hit, Hit)
    assert len(f.grade.factors) > 3
    positions = [hit.explanation.index(x.text_zh) for x in f.grade.factors[:3]]
    assert positions == sorted(positions)
    assert f.grade.factors[3].text_zh not in hit.explanation


@pytest.mark.parametrize(("before", "after"), [(None, "B"), ("B", "B"), ("A", "B"), (None, "A")])
def test_clears_out_of_c_and_d_whatever_was_read_before(
    before: Letter | None, after: Letter
) -> None:
    """Out of C and D it clears even when the grade read before was not in them: with two
    workers, a newer grade may have been recorded between an alert and its grade."""
    [clear] = GradeDowngrade().evaluate(EVENT, facts(before, after))
    assert clear == Clear("grade_downgrade", "enterprise", USCC, f"信用等级回升至{after}")


@pytest.mark.parametrize(("before", "after"), [(None, "C"), ("D", "C"), ("D", "D"), ("B", "C")])
def test_clears_when_the_first_grade_was_no_better(before: Letter | None, after: Letter) -> None:
    """Seen first at ``AT``: its first grade is the current one, so nothing fell (a fall seen
    only because its first facts arrived late is cleared)."""
    [clear] = GradeDowngrade().evaluate(EVENT, facts(before, after, first=AT))
    assert clear == Clear(
        "grade_downgrade", "enterprise", USCC, f"信用等级{after}不低于首次评级{after}"
    )


def test_a_late_first_fact_gives_the_verdict_it_would_have_given_in_time() -> None:
    """The same facts, whether the grade stored before was B or already D: the same hit,
    only re-stated when the letter was D already (it opens the alert all the same)."""
    rule = GradeDowngrade()
    in_time, late = rule.evaluate(EVENT, facts("B", "D")), rule.evaluate(EVENT, facts("D", "D"))
    assert [type(v) for v in in_time] == [Hit]
    assert [replace(v, refresh=False) for v in late if isinstance(v, Hit)] == list(in_time)


def test_a_fall_is_reported_once_per_letter() -> None:
    """A later event of a firm already graded D, still D (whatever its score): the hit
    re-states the fall, so an open alert gains no evidence and is neither rewritten nor
    republished; a fall from C to D is new evidence."""
    rule = GradeDowngrade()
    f = facts("D", "D")
    [still] = rule.evaluate(EVENT, replace(f, grade=f.grade.model_copy(update={"score": 99.0})))
    [fell] = rule.evaluate(EVENT, facts("C", "D"))
    assert isinstance(still, Hit)
    assert still.refresh
    assert isinstance(fell, Hit)
    assert not fell.refresh
    opened = new_alert(fell, event_time=AT, now=AT)
    assert merge(opened, still, event_time=AT + timedelta(days=1), now=AT) is None
    assert [e.event_id for e in new_alert(still, event_time=AT, now=AT).evidence] == ["enf-7"]


@pytest.mark.parametrize(("before", "after"), [("C", "B"), ("D", "A"), ("C", "A")])
def test_clears_when_the_grade_rises_back_above_c(before: Letter, after: Letter) -> None:
    [clear] = GradeDowngrade().evaluate(EVENT, facts(before, after))
    assert clear == Clear("grade_downgrade", "enterprise", USCC, f"信用等级回升至{after}")


def test_a_score_jitter_within_one_letter_raises_nothing() -> None:
    ent, b = graded("B")
    jitter = b.model_copy(update={"score": b.score + 3.0})
    verdicts = GradeDowngrade().evaluate(EVENT, Facts(ent, grade=jitter, previous_grade=b))
    assert [type(v) for v in verdicts] == [Clear]


def test_ungraded_facts_are_silent() -> None:
    assert GradeDowngrade().evaluate(EVENT, Facts(profile())) == ()


def test_the_grades_are_configurable() -> None:
    only_d = GradeDowngrade(GradeDowngradeParams(grades=("D",)))
    assert [type(v) for v in only_d.evaluate(EVENT, facts("B", "C"))] == [Clear]
    assert [type(v) for v in only_d.evaluate(EVENT, facts("C", "D"))] == [Hit]
    assert only_d.params.grades == ("D",)
    assert GradeDowngrade().params.grades == ("C", "D")


def test_reads_every_event_type_and_the_people() -> None:
    assert GradeDowngrade.inputs == frozenset(EVENT_TYPES)
    assert Need.PEOPLE in GradeDowngrade.needs


def test_the_engine_dispatches_every_type_and_skips_deregistered() -> None:
    engine = RuleEngine([GradeDowngrade()])
    assert all(engine.rules_for(t) for t in EVENT_TYPES)
    f = facts("B", "D")
    assert len(engine.evaluate(EVENT, f)) == 1
    gone = Facts(
        f.enterprise.model_copy(update={"status": "deregistered"}),
        grade=f.grade,
        previous_grade=f.previous_grade,
    )
    assert engine.evaluate(EVENT, gone) == []


def test_example_fires_and_counter_example_does_not() -> None:
    rule = GradeDowngrade()
    event, f = GradeDowngrade.example(example_kit())
    assert event.type in rule.inputs
    [hit] = rule.evaluate(event, f)
    assert isinstance(hit, Hit)
    assert "150,000" in hit.explanation
    again = GradeDowngrade.example(example_kit())
    assert rule.evaluate(event, f) == rule.evaluate(*again)  # deterministic
    event, f = GradeDowngrade.counter_example(example_kit())
    assert event.type in rule.inputs
    assert [type(v) for v in rule.evaluate(event, f)] == [Clear]  # no hit; B clears nothing open


def test_the_grade_it_came_in_with_uses_the_weights_of_the_current_grade() -> None:
    """Weights (from the rules file) under which a firm with no facts is already C: it came
    in C, so a C now is no fall; with the default weights (B) the same facts are one."""
    harsh = DEFAULT_WEIGHTS.model_copy(update={"base": 45.0})
    f = facts(None, "C")
    assert grade(f.enterprise, {}, FIRST - timedelta(days=1), harsh).grade == "C"
    [verdict] = GradeDowngrade().evaluate(EVENT, replace(f, weights=harsh))
    assert isinstance(verdict, Clear)
    assert [type(v) for v in GradeDowngrade().evaluate(EVENT, f)] == [Hit]


def test_holds_no_profile_once_its_facts_are_gone() -> None:
    """The first grade is remembered only while the profile it was made from lives: the
    rule keeps no batch's profiles (nor hubs) alive for every garbage collection to walk."""
    rule = GradeDowngrade()
    f = facts("B", "D")
    [hit] = rule.evaluate(EVENT, f)
    assert rule.evaluate(EVENT, f) == (hit,)  # the same facts again: remembered
    profile = weakref.ref(f.enterprise)
    del f
    gc.collect()
    assert profile() is None
    assert rule._first == {}
