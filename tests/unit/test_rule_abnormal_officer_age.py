"""``abnormal_officer_age``: under 18 or 75 and over, on the day of the event."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from rules.abnormal_officer_age import AbnormalOfficerAge, abnormal_ages
from rules.base import Clear, Hit
from rules.params import AbnormalOfficerAgeParams
from streams.identifiers import birth_date

from .example_kit import example_kit

RULE = AbnormalOfficerAge()
START = example_kit().start.date()  # the examples' day 0 (2026-03-02, China time)


def born(years: int, days: int = 0) -> date:
    """Born ``years`` years before day 0, then ``days`` later."""
    return START.replace(year=START.year - years) + timedelta(days=days)


@pytest.mark.parametrize(
    ("birth", "fires"),
    [
        (born(18), False),  # the 18th birthday is on day 0
        (born(18, days=1), True),  # 17 until tomorrow
        (born(75), True),  # the 75th birthday is on day 0
        (born(75, days=1), False),  # 74 until tomorrow
        (born(40), False),
    ],
)
def test_the_age_edges_at_the_event_day(birth: date, fires: bool) -> None:
    kit = example_kit()
    rep = kit.f.person(birth=birth)
    verdicts = RULE.evaluate(*kit.case(kit.registered(legal_rep=rep)))
    assert bool(verdicts) is fires


def test_the_age_is_taken_at_the_event_not_today() -> None:
    """A registration dated ten years ago, when the director was 16."""
    kit = example_kit()
    director = kit.f.person("director", birth=born(26))
    [hit] = RULE.evaluate(
        *kit.case(kit.registered(legal_rep=kit.person(), officers=[director], day=-3652))
    )
    assert isinstance(hit, Hit)
    assert "董事" in hit.explanation
    assert "16岁" in hit.explanation
    assert "未满18周岁" in hit.explanation


def test_the_business_day_decides_a_birthday_near_midnight() -> None:
    """Day 0 at 17:00 UTC is already the next day in China: a birthday then counts."""
    kit = example_kit()
    tomorrow = kit.start.date() + timedelta(days=1)
    rep = kit.f.person(birth=tomorrow.replace(year=tomorrow.year - 18))
    late = kit.registered(legal_rep=rep, day=8 / 24)  # 17:00 UTC, 01:00 the next day in China
    assert RULE.evaluate(*kit.case(late)) == ()


def test_a_minor_appointed_fires_and_an_adult_replacing_them_clears() -> None:
    kit = example_kit()
    uscc = kit.f.uscc()
    kit.feed(kit.registered(uscc, legal_rep=kit.person(age=45)))
    minor = kit.person(age=16)
    [hit] = RULE.evaluate(*kit.case(kit.changed(uscc, "legal_rep", minor, day=10)))
    assert isinstance(hit, Hit)
    assert "法定代表人" in hit.explanation
    [clear] = RULE.evaluate(*kit.case(kit.changed(uscc, "legal_rep", kit.person(age=50), day=20)))
    assert isinstance(clear, Clear)
    assert "法定代表人或高管已变更" in clear.reason
    assert RULE.evaluate(*kit.case(kit.changed(uscc, "phone", "0755-1", day=30))) == ()


def test_ages_come_from_the_keyed_birth_date() -> None:
    kit = example_kit()
    rep = kit.person(age=80)
    event, facts = kit.case(kit.registered(legal_rep=rep))
    assert facts.enterprise.legal_rep is not None
    assert facts.enterprise.legal_rep.birth_date == birth_date(rep["id_number"])
    [(_, age)] = abnormal_ages(facts.enterprise.people()[:1], START, 18, 75)
    assert age == 80
    assert rep["id_number"] not in str(RULE.evaluate(event, facts))


def test_thresholds_are_configurable() -> None:
    kit = example_kit()
    event, facts = kit.case(kit.registered(legal_rep=kit.person(age=70), officers=[]))
    assert RULE.evaluate(event, facts) == ()
    assert AbnormalOfficerAge(AbnormalOfficerAgeParams(max_age=70)).evaluate(event, facts)
