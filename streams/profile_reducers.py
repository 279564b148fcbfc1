"""Pure reducers: ``apply_*(profile, event)`` folds one event into one profile.

They are deterministic and know nothing of Redis, so the store can re-run them after a
concurrent update, and tests can drive them directly. Exactly-once is the store's job:
a reducer is never called twice for the same (event, profile).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.address import normalise_address, normalise_phone
from streams.event import Event
from streams.profile import (
    CaseRecord,
    DebtorCase,
    EnterpriseProfile,
    Listing,
    PersonCase,
    PersonProfile,
    PersonRef,
    ShareholderRef,
    Tax,
    Touch,
)
from streams.schemas import court, enforcement, registration, tax
from streams.schemas.common import Person, Shareholder

# Windows never need facts older than this (the longest default window is 365 days);
# older entries are trimmed so a profile stays bounded.
MAX_WINDOW_DAYS = 400


def person_ref(person: Person, role: str | None = None) -> PersonRef:
    return PersonRef(
        key=person.key,
        masked=person.masked,
        name=person.name,
        birth_date=person.birth_date,
        role=role if role is not None else person.role,
    )


def shareholder_ref(holder: Shareholder) -> ShareholderRef:
    return ShareholderRef(
        holder_type=holder.holder_type,
        name=holder.name,
        stake_pct=holder.stake_pct,
        person=person_ref(holder.person) if holder.person else None,
        uscc=holder.uscc,
    )


def _set_address(profile: EnterpriseProfile, address: str) -> None:
    profile.address_registered = address
    profile.address_norm = normalise_address(address) or None


def _set_phone(profile: EnterpriseProfile, phone: str | None) -> None:
    profile.phone = phone
    profile.phone_norm = normalise_phone(phone) or None if phone else None


def _set_field(p: EnterpriseProfile, field: str, new: Any, e: Event) -> None:
    """Set one registration field unless a newer fact (by event time) already set it."""
    known = p.field_times.get(field)
    if known is not None and e.time < known:
        return
    p.field_times[field] = e.time
    match field:
        case "legal_rep":
            p.legal_rep = person_ref(new, "legal_rep")
        case "officers":
            p.officers = [person_ref(o) for o in new]
        case "shareholders":
            p.shareholders = [shareholder_ref(s) for s in new]
        case "address_registered":
            _set_address(p, new)
        case "phone":
            _set_phone(p, new)
        case _:
            setattr(p, field, new)


def _registered(p: EnterpriseProfile, e: Event) -> None:
    d = e.data
    assert isinstance(d, registration.Registered)
    p.registered_on = d.registered_on
    for field in (
        "name",
        "capital_registered",
        "capital_paid",
        "industry_code",
        "address_registered",
        "address_business",
        "phone",
        "legal_rep",
        "officers",
        "shareholders",
    ):
        _set_field(p, field, getattr(d, field), e)


def _changed(p: EnterpriseProfile, e: Event) -> None:
    d = e.data
    assert isinstance(d, registration.Changed)
    if d.field == "shareholders":
        p.shareholder_changes.append(Touch(time=e.time, kind="shareholders", event_id=e.id))
    _set_field(p, d.field, d.new, e)


def _deregistered(p: EnterpriseProfile, e: Event) -> None:
    assert isinstance(e.data, registration.Deregistered)
    p.status = "deregistered"
    p.deregistered_at = e.time
    p.deregistered_reason = e.data.reason


def _abnormal_listed(p: EnterpriseProfile, e: Event) -> None:
    d = e.data
    assert isinstance(d, registration.AbnormalListed)
    p.abnormal = Listing(reason_code=d.reason_code, authority=d.authority, since=e.time)


def _abnormal_removed(p: EnterpriseProfile, e: Event) -> None:
    p.abnormal = None


def _case_filed(p: EnterpriseProfile, e: Event) -> None:
    d = e.data
    assert isinstance(d, court.CaseFiled)
    p.cases[d.case_no] = CaseRecord(
        case_no=d.case_no, case_type=d.case_type, role=d.role, amount=d.amount, filed_at=e.time
    )


def _case_closed(p: EnterpriseProfile, e: Event) -> None:
    d = e.data
    assert isinstance(d, court.CaseClosed)
    if d.case_no in p.cases:
        p.cases[d.case_no].closed_at = e.time


def _debtor_case(e: Event, data: court.DebtorListed) -> DebtorCase:
    return DebtorCase(
        case_no=data.case_no,
        court=data.court,
        amount=data.amount,
        listed_at=e.time,
        event_id=e.id,
        source=e.source,
    )


def _debtor_listed(p: EnterpriseProfile, e: Event) -> None:
    assert isinstance(e.data, court.DebtorListed)
    p.debtor_cases[e.data.case_no] = _debtor_case(e, e.data)


def _debtor_removed(p: EnterpriseProfile, e: Event) -> None:
    assert isinstance(e.data, court.DebtorRemoved)
    p.debtor_cases.pop(e.data.case_no, None)


def _latest(t: Tax, by: str, at: Any, **values: Any) -> None:
    """Record a report's ``values``, and ``at`` in the field ``by``, unless ``t`` holds a
    report later by that field: the latest report stands, a tie goes to the one read last."""
    known = getattr(t, by)
    if known is None or at >= known:
        for name, value in {**values, by: at}.items():
            setattr(t, name, value)


def _tax_arrears(p: EnterpriseProfile, e: Event) -> None:
    d = e.data
    assert isinstance(d, tax.TaxArrears)
    # The bureau reports the outstanding amount; a later report replaces an earlier one.
    _latest(
        p.tax,
        "arrears_time",
        e.time,
        arrears_outstanding=d.amount,
        arrears_since=d.since,
        arrears_event_id=e.id,
        arrears_source=e.source,
    )


def _tax_arrears_cleared(p: EnterpriseProfile, e: Event) -> None:
    d = e.data
    assert isinstance(d, tax.TaxArrearsCleared)
    if p.tax.arrears_time is not None and e.time < p.tax.arrears_time:
        return  # a clearance older than the arrears it would clear
    p.tax.arrears_outstanding = max(0.0, p.tax.arrears_outstanding - d.amount)
    if p.tax.arrears_outstanding == 0.0:
        p.tax.arrears_since = None
    p.tax.arrears_time = e.time


def _tax_paid(p: EnterpriseProfile, e: Event) -> None:
    d = e.data
    assert isinstance(d, tax.TaxPaid)
    p.tax.paid_by_period[d.period] = p.tax.paid_by_period.get(d.period, 0.0) + d.amount
    if len(p.tax.paid_by_period) > 36:
        for period in sorted(p.tax.paid_by_period)[:-36]:
            del p.tax.paid_by_period[period]


def _tax_penalty(p: EnterpriseProfile, e: Event) -> None:
    d = e.data
    assert isinstance(d, tax.TaxPenalty)
    p.tax.penalties_total += d.amount
    p.tax.penalties_count += 1


def _tax_credit_rated(p: EnterpriseProfile, e: Event) -> None:
    d = e.data
    assert isinstance(d, tax.TaxCreditRated)
    _latest(
        p.tax,
        "credit_year",
        d.year,
        credit_rating=d.rating,
        credit_event_id=e.id,
        credit_source=e.source,
        credit_time=e.time,
    )


def _employment(p: EnterpriseProfile, e: Event) -> None:
    d = e.data
    assert isinstance(d, tax.EmploymentReported)
    _latest(p.tax, "insured_period", d.period, insured_employees=d.insured_employees)


def _inspection(p: EnterpriseProfile, e: Event) -> None:
    d = e.data
    assert isinstance(d, enforcement.InspectionRecorded)
    p.attention.append(
        Touch(time=e.time, kind="inspection", department=d.department, event_id=e.id)
    )


def _penalty(p: EnterpriseProfile, e: Event) -> None:
    d = e.data
    assert isinstance(d, enforcement.PenaltyImposed)
    p.attention.append(Touch(time=e.time, kind="penalty", department=d.department, event_id=e.id))


def _contact_failed(p: EnterpriseProfile, e: Event) -> None:
    d = e.data
    assert isinstance(d, enforcement.ContactFailed)
    touch = Touch(time=e.time, kind=d.channel, department=d.department, event_id=e.id)
    p.contact_failures.append(touch)
    p.attention.append(touch.model_copy(update={"kind": "contact_failed"}))


_ENTERPRISE_REDUCERS: dict[str, Callable[[EnterpriseProfile, Event], None]] = {
    "enterprise.registered": _registered,
    "enterprise.changed": _changed,
    "enterprise.deregistered": _deregistered,
    "enterprise.abnormal_listed": _abnormal_listed,
    "enterprise.abnormal_removed": _abnormal_removed,
    "case.filed": _case_filed,
    "case.closed": _case_closed,
    "debtor.listed": _debtor_listed,
    "debtor.removed": _debtor_removed,
    "tax.arrears": _tax_arrears,
    "tax.arrears_cleared": _tax_arrears_cleared,
    "tax.paid": _tax_paid,
    "tax.penalty": _tax_penalty,
    "tax.credit_rated": _tax_credit_rated,
    "employment.reported": _employment,
    "inspection.recorded": _inspection,
    "penalty.imposed": _penalty,
    "contact.failed": _contact_failed,
}


def _trim(touches: list[Touch], newest: Any) -> list[Touch]:
    touches.sort(key=lambda t: t.time)
    if len(touches) > 64:
        cutoff = newest.timestamp() - MAX_WINDOW_DAYS * 86400
        touches = [t for t in touches if t.time.timestamp() >= cutoff] or touches[-64:]
    return touches


def apply_to_enterprise(profile: EnterpriseProfile, event: Event) -> None:
    """Fold ``event`` (whose subject is this enterprise) into ``profile``."""
    reducer = _ENTERPRISE_REDUCERS.get(event.type)
    if reducer is not None:
        reducer(profile, event)
    profile.event_counts[event.type] = profile.event_counts.get(event.type, 0) + 1
    if profile.first_event_time is None or event.time < profile.first_event_time:
        profile.first_event_time = event.time
    if profile.last_event_time is None or event.time > profile.last_event_time:
        profile.last_event_time = event.time
    newest = profile.last_event_time
    profile.shareholder_changes = _trim(profile.shareholder_changes, newest)
    profile.contact_failures = _trim(profile.contact_failures, newest)
    profile.attention = _trim(profile.attention, newest)


def apply_to_person(profile: PersonProfile, event: Event) -> None:
    """Fold ``event`` (whose subject is this person) into ``profile``."""
    data = event.data
    person = getattr(data, "person", None)
    if isinstance(person, Person):
        profile.masked, profile.name, profile.birth_date = (
            person.masked,
            person.name,
            person.birth_date,
        )
    if isinstance(data, court.DebtorListed):
        profile.debtor_cases[data.case_no] = _debtor_case(event, data)
    elif isinstance(data, court.DebtorRemoved):
        profile.debtor_cases.pop(data.case_no, None)
    elif isinstance(data, court.PersonCaseInvolved) and data.case_type == "criminal":
        profile.criminal_cases[data.case_no] = PersonCase(
            case_no=data.case_no,
            case_type=data.case_type,
            time=event.time,
            event_id=event.id,
            source=event.source,
        )
    profile.event_counts[event.type] = profile.event_counts.get(event.type, 0) + 1
    if profile.last_event_time is None or event.time > profile.last_event_time:
        profile.last_event_time = event.time


def index_entries(profile: EnterpriseProfile) -> dict[str, float]:
    """The cross-entity index memberships this profile should have, ``{index: score}``.

    A deregistered enterprise is in no hub the rules count (they count live enterprises
    only), only in ``retired:<person key>`` for each of its people.
    An address index scores members by registration day (ordinal), so "registered within
    N days of the newest" is a range count.
    """
    if not profile.active:
        # Its people still reach it through ``retired:``, so that a person's fact that
        # arrives after the deregistration still regrades it as it would have in time.
        return {f"retired:{ref.key}": 0.0 for ref in profile.people()}
    entries: dict[str, float] = {}
    if profile.address_norm:
        day = profile.registered_on.toordinal() if profile.registered_on else 0
        entries[f"addr:{profile.address_norm}"] = float(day)
    if profile.phone_norm:
        entries[f"phone:{profile.phone_norm}"] = 0.0
    for ref in profile.people():
        entries[f"person:{ref.key}"] = 0.0
    return entries
