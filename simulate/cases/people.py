"""Planted cases of the rules about a firm's people: dishonest or criminal officers (in
both orders of listing and appointment) and officers too young or too old."""

from __future__ import annotations

from simulate.calendar import END, years_before
from simulate.plant import Planter, days
from simulate.population import Enterprise

DISHONEST = "dishonest_officer"
AGE = "abnormal_officer_age"


# -- dishonest_officer ----------------------------------------------------------------------


def listed_then_appointed(p: Planter) -> None:
    a = p.anchor(span=70)
    debtor = p.person()
    p.at(a, p.emit.debtor_listed, debtor, p.emit.case_no(a.year, "enforcement"), 380_000.0)
    firm = p.firm(a + days(60), rep=debtor)
    p.expect(DISHONEST, firm, "失信被执行人在列入名单60天后被登记为法定代表人")


def appointed_then_listed(p: Planter) -> None:
    a = p.anchor(span=70)
    officer = p.person()
    firm = p.firm(a, officers=[(officer, "supervisor")])
    day = a + days(60)
    p.at(day, p.emit.debtor_listed, officer, p.emit.case_no(day.year, "enforcement"), 120_000.0)
    p.expect(DISHONEST, firm, "监事在任职60天后被列入失信被执行人名单")


def _rep_in_case(p: Planter, case_type: str) -> Enterprise:
    """A new firm whose legal representative is party to a ``case_type`` case 60 days later."""
    a = p.anchor(span=70)
    rep = p.person()
    firm = p.firm(a, rep=rep)
    day = a + days(60)
    p.at(day, p.emit.person_case, rep, p.emit.case_no(day.year, case_type), case_type)
    return firm


def criminal_legal_rep(p: Planter) -> None:
    firm = _rep_in_case(p, "criminal")
    p.expect(DISHONEST, firm, "法定代表人涉刑事案件")


def appointed_by_change(p: Planter) -> None:
    a = p.anchor(lead=100, span=70)
    debtor = p.person()
    firm = p.firm(a - days(100))
    p.at(a, p.emit.debtor_listed, debtor, p.emit.case_no(a.year, "enforcement"), 90_000.0)
    officers = [debtor.wire("director"), *(o.wire(r) for o, r in firm.officers)]
    p.at(a + days(60), p.emit.changed, firm, "officers", None, officers)
    p.expect(DISHONEST, firm, "失信被执行人经高管变更成为董事")


def removed_then_appointed(p: Planter) -> None:
    a = p.anchor(span=90)
    person = p.person()
    case_no = p.emit.case_no(a.year, "enforcement")
    p.at(a, p.emit.debtor_listed, person, case_no, 60_000.0)
    p.at(a + days(40), p.emit.debtor_removed, person, case_no, "performed")
    firm = p.firm(a + days(80), rep=person)
    p.forbid(DISHONEST, firm, "被移出失信名单40天后才被任命：任命时已不在名单上")


def civil_case_officer(p: Planter) -> None:
    firm = _rep_in_case(p, "civil")
    p.forbid(DISHONEST, firm, "法定代表人只涉民事案件")


def listed_shareholder(p: Planter) -> None:
    a = p.anchor(span=70)
    holder, rep = p.person(), p.person()
    firm = p.firm(a, rep=rep, holders=[holder, rep])
    day = a + days(60)
    p.at(day, p.emit.debtor_listed, holder, p.emit.case_no(day.year, "enforcement"), 50_000.0)
    p.forbid(DISHONEST, firm, "被列入失信名单的只是股东，不是法定代表人或高管")


# -- abnormal_officer_age -------------------------------------------------------------------


def minor_legal_rep(p: Planter) -> None:
    a = p.anchor(span=10)
    rep = p.person(birth=years_before(a, 16) + days(40))
    firm = p.firm(a, rep=rep)
    p.expect(AGE, firm, "法定代表人登记时15岁")


def _rep_turning(p: Planter, years: int) -> Enterprise:
    """A new firm whose legal representative turns ``years`` old the day it registers."""
    a = p.anchor(span=10)
    return p.firm(a, rep=p.person(birth=years_before(a, years)))


def turns_75_that_day(p: Planter) -> None:
    firm = _rep_turning(p, 75)
    p.expect(AGE, firm, "法定代表人登记当天年满75岁（含）")


def elderly_officer_appointed(p: Planter) -> None:
    a = p.anchor(span=70)
    firm = p.firm(a)
    day = a + days(60)
    elder = p.person(birth=years_before(day, 78) - days(100))
    officers = [elder.wire("director"), *(o.wire(r) for o, r in firm.officers)]
    p.at(day, p.emit.changed, firm, "officers", None, officers)
    p.expect(AGE, firm, "变更后的董事78岁")


def turns_18_that_day(p: Planter) -> None:
    firm = _rep_turning(p, 18)
    p.forbid(AGE, firm, "法定代表人登记当天年满18岁：不小于18岁")


def aged_74_until_the_end(p: Planter) -> None:
    a = p.anchor(span=10)
    elder = p.person(birth=years_before(END + days(30), 75))
    firm = p.firm(a, officers=[(elder, "supervisor")])
    p.forbid(AGE, firm, "监事在整个模拟期内都是74岁")
