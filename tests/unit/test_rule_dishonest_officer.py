"""``dishonest_officer``: whichever comes first, the listing or the appointment; a removal
clears only when nobody of the enterprise is still listed or in a criminal case."""

from __future__ import annotations

from rules.base import Clear, Hit
from rules.dishonest_officer import DishonestOfficer

from .example_kit import example_kit

RULE = DishonestOfficer()


def test_listed_then_appointed() -> None:
    kit = example_kit()
    boss = kit.person()
    listing = kit.f.debtor_listed_person(boss, time=kit.day(0))
    kit.feed(listing)
    appointment = kit.registered(legal_rep=boss, day=5)
    [hit] = RULE.evaluate(*kit.case(appointment))
    assert isinstance(hit, Hit)
    assert [ev.event_id for ev in hit.evidence] == [appointment["id"], listing["id"]]
    assert "法定代表人" in hit.explanation
    assert "350,000元" in hit.explanation


def test_appointed_then_listed() -> None:
    kit = example_kit()
    director = kit.person("director")
    uscc = kit.f.uscc()
    kit.feed(kit.registered(uscc, officers=[director]))
    [hit] = RULE.evaluate(*kit.case(kit.f.debtor_listed_person(director), uscc=uscc))
    assert isinstance(hit, Hit)
    assert "董事" in hit.explanation
    assert "列入失信被执行人名单" in hit.explanation


def test_a_criminal_case_fires() -> None:
    kit = example_kit()
    boss = kit.person()
    uscc = kit.f.uscc()
    kit.feed(kit.registered(uscc, legal_rep=boss))
    person = {k: v for k, v in boss.items() if k != "role"}
    data = {"person": person, "case_no": "(2026)粤0305刑初7号", "case_type": "criminal"}
    crime = kit.f.event("person.case_involved", "P:" + boss["id_number"], data)
    [hit] = RULE.evaluate(*kit.case(crime, uscc=uscc))
    assert isinstance(hit, Hit)
    assert "涉及刑事案件（案号(2026)粤0305刑初7号）" in hit.explanation


def test_removal_clears_with_the_reason() -> None:
    kit = example_kit()
    boss = kit.person()
    uscc = kit.f.uscc()
    kit.feed(kit.f.debtor_listed_person(boss), kit.registered(uscc, legal_rep=boss, day=1))
    [clear] = RULE.evaluate(*kit.case(kit.debtor_removed(boss, "performed", day=9), uscc=uscc))
    assert isinstance(clear, Clear)
    assert (clear.rule_id, clear.subject_kind, clear.subject_id) == (
        "dishonest_officer",
        "enterprise",
        uscc,
    )
    assert clear.reason.startswith("失信被执行人名单已移出（履行完毕）：法定代表人")
    assert boss["id_number"] not in clear.reason


def test_no_clear_while_another_person_is_listed_or_in_a_criminal_case() -> None:
    kit = example_kit()
    boss, director = kit.person(), kit.person("director")
    uscc = kit.f.uscc()
    kit.feed(
        kit.f.debtor_listed_person(boss),
        kit.f.debtor_listed_person(director, case_no="(2026)粤0305执77号"),
        kit.registered(uscc, legal_rep=boss, officers=[director], day=1),
    )
    assert RULE.evaluate(*kit.case(kit.debtor_removed(boss, day=2), uscc=uscc)) == ()
    person = {k: v for k, v in director.items() if k != "role"}
    crime = {"person": person, "case_no": "(2026)刑1号", "case_type": "criminal"}
    kit.feed(kit.f.event("person.case_involved", "P:" + director["id_number"], crime))
    removal = kit.f.event(
        "debtor.removed",
        "P:" + director["id_number"],
        {"case_no": "(2026)粤0305执77号", "reason": "revoked"},
        time=kit.day(3),
    )
    assert RULE.evaluate(*kit.case(removal, uscc=uscc)) == ()  # the criminal case remains


def test_removed_then_appointed_fires_nothing() -> None:
    assert RULE.evaluate(*DishonestOfficer.counter_example(example_kit())) == ()


def test_replacing_the_listed_person_clears() -> None:
    kit = example_kit()
    boss = kit.person()
    uscc = kit.f.uscc()
    kit.feed(kit.f.debtor_listed_person(boss), kit.registered(uscc, legal_rep=boss, day=1))
    [clear] = RULE.evaluate(*kit.case(kit.changed(uscc, "legal_rep", kit.person(), day=4)))
    assert isinstance(clear, Clear)
    assert clear.reason.startswith("法定代表人或高管已变更")


def test_the_enterprise_own_listing_is_not_about_its_people() -> None:
    kit = example_kit()
    uscc = kit.f.uscc()
    boss = kit.person()
    kit.feed(kit.f.debtor_listed_person(boss), kit.registered(uscc, legal_rep=boss, day=1))
    data = {"case_no": "(2026)执5号", "reason": "performed", "debtor_type": "enterprise"}
    removal = kit.f.event("debtor.removed", uscc, data, time=kit.day(2))
    assert RULE.evaluate(*kit.case(removal)) == ()
