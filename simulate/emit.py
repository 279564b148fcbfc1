"""Contract events of the simulated departments, as plain dicts ready for ``orjson.dumps``.

One :class:`~simulate.factory.EventFactory` per department builds the CloudEvents envelope
and numbers the events; this module fills in ``data`` from the population's firms and
people. Every method takes the business-time stamp first, so a scheduled event is just
``(stamp, method, args)``. Sources carry the run (seed and size), so two simulations
played into one deployment never share an event identity.
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any, Final

from simulate.calendar import to_datetime
from simulate.factory import EventFactory
from simulate.population import Enterprise, Person

Event = dict[str, Any]
REGISTRY: Final = "samr"
COURT: Final = "court"
TAX: Final = "tax"
COURTS: Final = (
    ("深圳前海合作区人民法院", "粤0391"),
    ("深圳市南山区人民法院", "粤0305"),
    ("深圳市福田区人民法院", "粤0304"),
    ("深圳市中级人民法院", "粤03"),
)
CASE_WORDS: Final = {
    "civil": "民初",
    "criminal": "刑初",
    "administrative": "行初",
    "enforcement": "执",
}


class Emitter:
    def __init__(self, run: str) -> None:
        self.run = run
        self._factories: dict[str, EventFactory] = {}
        self._serial = itertools.count(1)

    def _event(self, department: str, etype: str, subject: str, data: Event, stamp: int) -> Event:
        factory = self._factories.get(department)
        if factory is None:
            factory = EventFactory(source=f"{department}/sim-{self.run}")
            self._factories[department] = factory
        return factory.event(etype, subject, data, time=to_datetime(stamp))

    def serial(self) -> int:
        """A number unique in this run, for case, decision and inspection numbers."""
        return next(self._serial)

    def case_no(self, year: int, case_type: str, court: int = 0) -> str:
        return f"({year}){COURTS[court][1]}{CASE_WORDS[case_type]}{self.serial()}号"

    # -- registration ---------------------------------------------------------------------

    def registered(self, stamp: int, ent: Enterprise) -> Event:
        data = {
            "uscc": ent.uscc,
            "name": ent.name,
            "registered_on": ent.registered_on.isoformat(),
            "capital_registered": ent.capital_registered,
            "capital_paid": ent.capital_paid,
            "industry_code": ent.industry,
            "address_registered": ent.address,
            "phone": ent.phone,
            "legal_rep": ent.legal_rep.wire(),
            "officers": [p.wire(role) for p, role in ent.officers],
            "shareholders": [h.wire() for h in ent.shareholders],
        }
        return self._event(REGISTRY, "enterprise.registered", ent.uscc, data, stamp)

    def changed(self, stamp: int, ent: Enterprise, field: str, old: Any, new: Any) -> Event:
        data = {"field": field, "old": old, "new": new}
        return self._event(REGISTRY, "enterprise.changed", ent.uscc, data, stamp)

    def deregistered(self, stamp: int, ent: Enterprise, reason: str) -> Event:
        return self._event(REGISTRY, "enterprise.deregistered", ent.uscc, {"reason": reason}, stamp)

    def abnormal_listed(self, stamp: int, ent: Enterprise, code: str, reason: str) -> Event:
        data = {"reason_code": code, "reason": reason, "authority": "深圳市市场监督管理局前海局"}
        return self._event(REGISTRY, "enterprise.abnormal_listed", ent.uscc, data, stamp)

    def abnormal_removed(self, stamp: int, ent: Enterprise, reason: str) -> Event:
        data = {"reason": reason}
        return self._event(REGISTRY, "enterprise.abnormal_removed", ent.uscc, data, stamp)

    # -- courts ---------------------------------------------------------------------------

    def case_filed(
        self, stamp: int, ent: Enterprise, case_no: str, case_type: str, role: str, amount: float
    ) -> Event:
        data = {
            "case_no": case_no,
            "court": _court_of(case_no),
            "case_type": case_type,
            "role": role,
            "amount": amount,
        }
        return self._event(COURT, "case.filed", ent.uscc, data, stamp)

    def case_closed(self, stamp: int, ent: Enterprise, case_no: str, outcome: str) -> Event:
        data = {"case_no": case_no, "outcome": outcome}
        return self._event(COURT, "case.closed", ent.uscc, data, stamp)

    def person_case(self, stamp: int, who: Person, case_no: str, case_type: str) -> Event:
        data = {"person": who.wire(), "case_no": case_no, "case_type": case_type}
        return self._event(COURT, "person.case_involved", "P:" + who.id_number, data, stamp)

    def debtor_listed(
        self, stamp: int, debtor: Person | Enterprise, case_no: str, amount: float
    ) -> Event:
        data: Event = {
            "case_no": case_no,
            "court": _court_of(case_no),
            "obligation": "支付货款及逾期利息",
            "amount": amount,
        }
        data.update(_debtor(debtor))
        return self._event(COURT, "debtor.listed", _subject(debtor), data, stamp)

    def debtor_removed(
        self, stamp: int, debtor: Person | Enterprise, case_no: str, reason: str
    ) -> Event:
        data: Event = {"case_no": case_no, "reason": reason}
        data.update(_debtor(debtor))
        return self._event(COURT, "debtor.removed", _subject(debtor), data, stamp)

    # -- tax and social insurance ---------------------------------------------------------

    def tax_paid(self, stamp: int, ent: Enterprise, period: str, amount: float, kind: str) -> Event:
        data = {"period": period, "amount": amount, "tax_type": kind}
        return self._event(TAX, "tax.paid", ent.uscc, data, stamp)

    def employment(self, stamp: int, ent: Enterprise, period: str, insured: int) -> Event:
        data = {"period": period, "insured_employees": insured}
        return self._event(TAX, "employment.reported", ent.uscc, data, stamp)

    def tax_arrears(self, stamp: int, ent: Enterprise, amount: float, since: date) -> Event:
        data = {"amount": amount, "since": since.isoformat()}
        return self._event(TAX, "tax.arrears", ent.uscc, data, stamp)

    def arrears_cleared(self, stamp: int, ent: Enterprise, amount: float) -> Event:
        return self._event(TAX, "tax.arrears_cleared", ent.uscc, {"amount": amount}, stamp)

    def tax_penalty(self, stamp: int, ent: Enterprise, amount: float, reason: str) -> Event:
        data = {"amount": amount, "reason": reason}
        return self._event(TAX, "tax.penalty", ent.uscc, data, stamp)

    def credit_rated(self, stamp: int, ent: Enterprise, year: int, rating: str) -> Event:
        data = {"year": year, "rating": rating}
        return self._event(TAX, "tax.credit_rated", ent.uscc, data, stamp)

    # -- enforcement uploads --------------------------------------------------------------

    def inspection(
        self,
        stamp: int,
        ent: Enterprise,
        department: str,
        kind: str,
        found_at_address: bool,
        violation: bool | None,
    ) -> Event:
        n = self.serial()
        data = {
            "inspection_id": f"INS-{self.run}-{n}",
            "department": department,
            "inspector_id": f"{department[:3].upper()}{n % 211:03d}",
            "kind": kind,
            "found_at_address": found_at_address,
            "violation_found": violation,
            "notes": "现场检查" if found_at_address else "现场检查，经营场所未见人员",
        }
        return self._event(department, "inspection.recorded", ent.uscc, data, stamp)

    def penalty(
        self, stamp: int, ent: Enterprise, department: str, amount: float, category: str
    ) -> Event:
        data = {
            "decision_no": f"深{department[:3]}罚〔{to_datetime(stamp).year}〕{self.serial()}号",
            "department": department,
            "amount": amount,
            "category": category,
            "legal_basis": "《中华人民共和国行政处罚法》",
        }
        return self._event(department, "penalty.imposed", ent.uscc, data, stamp)

    def contact_failed(self, stamp: int, ent: Enterprise, department: str, channel: str) -> Event:
        data = {"department": department, "channel": channel}
        return self._event(department, "contact.failed", ent.uscc, data, stamp)


def _court_of(case_no: str) -> str:
    for court, code in COURTS:
        if case_no[6:].startswith(code) and not case_no[6 + len(code)].isdigit():
            return court
    return COURTS[0][0]


def _subject(debtor: Person | Enterprise) -> str:
    return "P:" + debtor.id_number if isinstance(debtor, Person) else debtor.uscc


def _debtor(debtor: Person | Enterprise) -> Event:
    if isinstance(debtor, Person):
        return {"debtor_type": "person", "person": debtor.wire()}
    return {"debtor_type": "enterprise", "uscc": debtor.uscc}
