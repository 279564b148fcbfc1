"""Background histories: what happens to every firm month by month.

Contributions on a filing cadence (VAT, withheld income tax, social insurance, corporate
income tax each quarter, the insured headcount), a tax credit rating every April, and
rare facts drawn by the firm's hidden tier: inspections (their ``violation_found`` drawn
from :mod:`simulate.risk`), penalties, failed contacts, lawsuits, registration
changes, arrears, abnormal listings, dishonest-debtor listings of the firm or its legal
representative, criminal cases, deregistration; and the follow-ups that end them (arrears
cleared, listings removed, cases closed). Planted firms get contributions only.

A month is scheduled as stubs (``(stamp, seq, method, args)``), with the state a later
month reads updated as it is scheduled; the stream sorts each month's stubs and builds the
events then, so no more than a month of small tuples is ever held.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Final

from simulate.calendar import hour, month_days, month_start, period, stamp_of
from simulate.emit import Emitter, Event
from simulate.plant import Stub
from simulate.population import Enterprise, Holding, Population, Tier, with_stakes
from simulate.risk import violation_probability
from simulate.samples import make_phone

OPEN_FROM: Final = hour(8, 30)
OPEN_UNTIL: Final = hour(18)
OPEN_SPAN: Final = OPEN_UNTIL - OPEN_FROM
DEREGISTER_AT: Final = hour(18, 30)  # after any other fact of that day
DEPARTMENTS: Final = ("samr", "tax", "police", "enforcement-bureau", "qianhai-authority", "drc")
# Probability per month of each rare fact, by tier (LOW, MEDIUM, HIGH).
RATES: Final = {
    "inspection": (0.012, 0.025, 0.06),
    "contact_failed": (0.001, 0.006, 0.035),
    "penalty": (0.0008, 0.003, 0.012),
    "tax_penalty": (0.001, 0.003, 0.01),
    "sued": (0.003, 0.012, 0.045),
    "suing": (0.004, 0.004, 0.004),
    "shareholders": (0.004, 0.01, 0.035),
    "address": (0.002, 0.003, 0.006),
    "phone": (0.003, 0.004, 0.008),
    "officers": (0.003, 0.004, 0.006),
    "legal_rep": (0.002, 0.003, 0.006),
    "capital_paid": (0.001, 0.001, 0.001),
    "business_scope": (0.002, 0.002, 0.002),
    "arrears": (0.001, 0.007, 0.035),
    "abnormal": (0.0005, 0.004, 0.025),
    "debtor_firm": (0.0002, 0.002, 0.01),
    "debtor_rep": (0.0002, 0.001, 0.008),
    "person_case": (0.0002, 0.0006, 0.003),
    "deregister": (0.002, 0.004, 0.008),
}
FOLLOW_UPS: Final = {"cleared": 0.15, "abnormal_removed": 0.08, "closed": 0.12, "delisted": 0.06}
RATING_MONTH: Final = 4
WITHHOLDING_FROM: Final = 5  # employees: smaller firms' wages stay under the income tax threshold


class Background:
    """Schedules the background facts of one month for the firms alive in it."""

    def __init__(
        self,
        pop: Population,
        emit: Emitter,
        rng: random.Random,
        filing_every: int,
        seq: Iterator[int],
    ) -> None:
        self.pop, self.emit, self.rng = pop, emit, rng
        self.filing_every = filing_every
        self._seq = seq
        self._handlers: dict[str, Callable[[Enterprise], None]] = {
            name: getattr(self, f"_{name}") for name in RATES
        }
        self._tables = [self._table(tier) for tier in Tier]
        self.future: dict[int, list[Stub]] = {}
        self._stubs: list[Stub] = []
        self._month = 0

    def _table(self, tier: Tier) -> tuple[list[float], list[str], float]:
        edges, names, total = [], [], 0.0
        for name, rates in RATES.items():
            total += rates[tier]
            edges.append(total)
            names.append(name)
        return edges, names, total

    # -- scheduling -----------------------------------------------------------------------

    def _at(self, day: date, method: Callable[..., Event], *args: object, at: int = -1) -> None:
        seconds = at if at >= 0 else OPEN_FROM + int(self.rng.random() * OPEN_SPAN)
        stamp = stamp_of(day, seconds)
        stub: Stub = (stamp, next(self._seq), method, args)
        if day < self._next_month_start:
            self._stubs.append(stub)
        else:
            month = (day.year - self._first.year) * 12 + day.month - self._first.month
            self.future.setdefault(self._month + month, []).append(stub)

    def _day(self, first: int = 1, last: int = 0) -> date:
        """A random day of the month between the ``first`` and the ``last`` (both included)."""
        last = last or self._days
        return self._days_of_month[first - 1 + int(self.rng.random() * (last - first + 1))]

    def month(self, index: int, active: list[Enterprise]) -> list[Stub]:
        """The stubs of month ``index`` for the firms in ``active`` (registered before it)."""
        self._month, self._first, self._days = index, month_start(index), month_days(index)
        self._next_month_start = month_start(index + 1)
        self._days_of_month = [self._first + timedelta(days=d) for d in range(self._days)]
        self._period = period(index - 1)
        self._stubs = self.future.pop(index, [])
        rng, every = self.rng, self.filing_every
        rating = self._first.month == RATING_MONTH
        for ent in active:
            if (index - ent.registered_on.month) % every == 0:  # each firm keeps its phase
                self._file(ent)
            if ent.planted:
                continue
            if rating:
                self._rate(ent)
            if (
                ent.arrears
                or ent.abnormal
                or ent.open_cases
                or ent.debtor_cases
                or (ent.legal_rep.listed)
            ):
                self._follow_up(ent)
            edges, names, total = self._tables[ent.tier]
            for _ in range(2 if ent.tier is Tier.HIGH else 1):
                u = rng.random()
                if u < total and ent.deregistered_on is None:
                    self._handlers[names[bisect.bisect_right(edges, u)]](ent)
        return self._stubs

    # -- contributions --------------------------------------------------------------------

    def _file(self, ent: Enterprise) -> None:
        if ent.deregistered_on is not None and ent.deregistered_on < self._next_month_start:
            return
        rng, every = self.rng, self.filing_every
        day = self._day(5, 15)
        of = self._period
        if ent.pays_tax:
            vat = round(ent.revenue * every * 0.06 * rng.uniform(0.6, 1.4), 2)
            self._at(day, self.emit.tax_paid, ent, of, vat, "增值税")
            if ent.employees:
                pay = round(ent.employees * 8_500.0 * every * rng.uniform(0.9, 1.1), 2)
                self._at(day, self.emit.tax_paid, ent, of, round(pay * 0.15, 2), "社会保险费")
                if ent.employees >= WITHHOLDING_FROM:
                    self._at(day, self.emit.tax_paid, ent, of, round(pay * 0.03, 2), "个人所得税")
            if self._first.month in (1, 4, 7, 10) and rng.random() < 0.3:
                cit = round(ent.revenue * 3 * 0.02 * rng.uniform(0.5, 1.5), 2)
                self._at(day, self.emit.tax_paid, ent, of, cit, "企业所得税")
            if rng.random() < 0.05:
                ent.employees = max(1, ent.employees + rng.choice((-2, -1, 1, 2, 3)))
        if ent.employees or rng.random() < 0.3:
            self._at(day, self.emit.employment, ent, of, ent.employees)

    def _rate(self, ent: Enterprise) -> None:
        if ent.registered_on.year >= self._first.year - 1:
            return
        if ent.arrears >= 100_000 or ent.abnormal or ent.debtor_cases:
            rating = "D"
        elif ent.arrears or ent.penalties:
            rating = "C"
        elif not ent.pays_tax:
            rating = "M"
        else:
            rating = self.rng.choices("ABM", (5, 4, 1) if ent.tier is Tier.LOW else (1, 4, 3))[0]
        self._at(self._day(10, 25), self.emit.credit_rated, ent, self._first.year - 1, rating)

    def _follow_up(self, ent: Enterprise) -> None:
        rng = self.rng
        if ent.arrears and rng.random() < FOLLOW_UPS["cleared"]:
            self._at(self._day(), self.emit.arrears_cleared, ent, ent.arrears)
            ent.arrears, ent.arrears_since = 0.0, None
        if ent.abnormal and rng.random() < FOLLOW_UPS["abnormal_removed"]:
            self._at(self._day(), self.emit.abnormal_removed, ent, "已补报年度报告")
            ent.abnormal = None
        if ent.open_cases and rng.random() < FOLLOW_UPS["closed"]:
            case_no = ent.open_cases.pop(0)
            self._at(self._day(), self.emit.case_closed, ent, case_no, rng.choice(("调解", "判决")))
        if ent.debtor_cases and rng.random() < FOLLOW_UPS["delisted"]:
            case_no = ent.debtor_cases.pop(0)
            self._at(self._day(), self.emit.debtor_removed, ent, case_no, "performed")
        rep = ent.legal_rep
        if rep.listed and rng.random() < FOLLOW_UPS["delisted"]:
            self._at(self._day(), self.emit.debtor_removed, rep, rep.listed.pop(0), "performed")

    # -- rare facts (one method per entry of RATES) ---------------------------------------

    def _inspection(self, ent: Enterprise) -> None:
        rng, day = self.rng, self._day()
        hidden = ent.abnormal == "unreachable_address" or len(ent.failed_contacts) >= 2
        p = violation_probability(ent, self._first)
        violation = None if rng.random() < 0.05 else rng.random() < p
        department = rng.choice(DEPARTMENTS)
        kind = rng.choice(("routine", "random", "complaint", "special_campaign"))
        self._at(day, self.emit.inspection, ent, department, kind, not hidden, violation)
        if violation and rng.random() < 0.5:
            amount = float(rng.choice((5_000, 10_000, 20_000, 50_000, 100_000)))
            later = day + timedelta(days=rng.randint(5, 25))
            self._at(later, self.emit.penalty, ent, department, amount, "违反市场监管法规")
            ent.penalties += 1

    def _contact_failed(self, ent: Enterprise) -> None:
        day = self._day()
        ent.failed_contacts.append(day.toordinal())
        channel = self.rng.choice(("phone", "address", "mail"))
        self._at(day, self.emit.contact_failed, ent, self.rng.choice(DEPARTMENTS), channel)

    def _penalty(self, ent: Enterprise) -> None:
        amount = float(self.rng.choice((2_000, 5_000, 10_000, 30_000)))
        department = self.rng.choice(DEPARTMENTS)
        self._at(self._day(), self.emit.penalty, ent, department, amount, "未按规定公示信息")
        ent.penalties += 1

    def _tax_penalty(self, ent: Enterprise) -> None:
        amount = round(self.rng.uniform(500, 50_000), 2)
        self._at(self._day(), self.emit.tax_penalty, ent, amount, "逾期申报")
        ent.penalties += 1

    def _sued(self, ent: Enterprise) -> None:
        day = self._day()
        executed = self.rng.random() < 0.25
        kind = "enforcement" if executed else "civil"
        case_no = self.emit.case_no(day.year, kind, self.rng.randrange(3))
        amount = float(self.rng.randrange(20_000, 2_000_000, 1_000))
        role = "executed_person" if executed else "defendant"
        self._at(day, self.emit.case_filed, ent, case_no, kind, role, amount)
        ent.open_cases.append(case_no)

    def _suing(self, ent: Enterprise) -> None:
        day = self._day()
        case_no = self.emit.case_no(day.year, "civil", self.rng.randrange(3))
        amount = float(self.rng.randrange(20_000, 800_000, 1_000))
        self._at(day, self.emit.case_filed, ent, case_no, "civil", "plaintiff", amount)

    def _shareholders(self, ent: Enterprise) -> None:
        old = [h.wire() for h in ent.shareholders]
        keep = ent.shareholders[:1]
        newcomer = self.pop.new_person()
        ent.shareholders = with_stakes(
            [*keep, Holding(newcomer.name, 0.0, person=newcomer)], self.rng
        )
        new = [h.wire() for h in ent.shareholders]
        self._at(self._day(), self.emit.changed, ent, "shareholders", old, new)

    def _address(self, ent: Enterprise) -> None:
        old, ent.address = ent.address, self.pop.new_address()
        self._at(self._day(), self.emit.changed, ent, "address_registered", old, ent.address)

    def _phone(self, ent: Enterprise) -> None:
        old, ent.phone = ent.phone, make_phone(self.rng)
        self._at(self._day(), self.emit.changed, ent, "phone", old, ent.phone)

    def _officers(self, ent: Enterprise) -> None:
        old = [p.wire(role) for p, role in ent.officers]
        ent.officers = [(self.pop.new_person(), "supervisor"), *ent.officers[1:]]
        new = [p.wire(role) for p, role in ent.officers]
        self._at(self._day(), self.emit.changed, ent, "officers", old, new)

    def _legal_rep(self, ent: Enterprise) -> None:
        old = ent.legal_rep.wire()
        ent.legal_rep = self.pop.new_person()
        ent.officers = [(p, r) for p, r in ent.officers if r != "manager"]
        self._at(self._day(), self.emit.changed, ent, "legal_rep", old, ent.legal_rep.wire())

    def _capital_paid(self, ent: Enterprise) -> None:
        old = ent.capital_paid
        ent.capital_paid = round(min(ent.capital_registered, old + ent.capital_registered * 0.2), 2)
        self._at(self._day(), self.emit.changed, ent, "capital_paid", old, ent.capital_paid)

    def _business_scope(self, ent: Enterprise) -> None:
        scope = self.rng.choice(("供应链管理；国际贸易", "软件开发；信息技术咨询", "投资咨询"))
        self._at(self._day(), self.emit.changed, ent, "business_scope", None, scope)

    def _arrears(self, ent: Enterprise) -> None:
        median = (30_000.0, 60_000.0, 120_000.0)[ent.tier]
        ent.arrears = round(ent.arrears + median * self.rng.lognormvariate(0.0, 0.9), 2)
        ent.arrears_since = ent.arrears_since or self._first - timedelta(days=45)
        self._at(self._day(), self.emit.tax_arrears, ent, ent.arrears, ent.arrears_since)

    def _abnormal(self, ent: Enterprise) -> None:
        if ent.abnormal:
            return
        unreachable = 0.4 if ent.tier is Tier.HIGH else 0.25
        u = self.rng.random()
        code = "unreachable_address" if u < unreachable else "annual_report_missing"
        if u > 0.95:
            code = "false_information"
        ent.abnormal = code
        self._at(self._day(), self.emit.abnormal_listed, ent, code, "列入经营异常名录")

    def _debtor_firm(self, ent: Enterprise) -> None:
        day = self._day()
        case_no = self.emit.case_no(day.year, "enforcement", self.rng.randrange(3))
        ent.debtor_cases.append(case_no)
        amount = float(self.rng.randrange(50_000, 3_000_000, 1_000))
        self._at(day, self.emit.debtor_listed, ent, case_no, amount)

    def _debtor_rep(self, ent: Enterprise) -> None:
        day, rep = self._day(), ent.legal_rep
        case_no = self.emit.case_no(day.year, "enforcement", self.rng.randrange(3))
        rep.listed.append(case_no)
        amount = float(self.rng.randrange(50_000, 1_000_000, 1_000))
        self._at(day, self.emit.debtor_listed, rep, case_no, amount)

    def _person_case(self, ent: Enterprise) -> None:
        day = self._day()
        kind = "criminal" if self.rng.random() < 0.3 else "civil"
        case_no = self.emit.case_no(day.year, kind, self.rng.randrange(3))
        self._at(day, self.emit.person_case, ent.legal_rep, case_no, kind)

    def _deregister(self, ent: Enterprise) -> None:
        day = self._first + timedelta(days=self._days - 1)
        ent.deregistered_on = day
        reason = "被吊销营业执照后注销" if ent.tier is Tier.HIGH else "股东会决议解散"
        self._at(day, self.emit.deregistered, ent, reason, at=DEREGISTER_AT)
