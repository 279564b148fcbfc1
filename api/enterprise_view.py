"""What the query API shows of an enterprise: its profile as :class:`EnterprisePublic`
(people masked), its flags, and where its open alerts are (pure functions).

Flags are the adverse facts an officer checks first, read off the enterprise's profile
and its people's profiles (a dishonest legal representative is a fact about a person).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from api.enterprise_schemas import (
    EnterprisePublic,
    FactorPublic,
    Flag,
    FlagPublic,
    GradeHistoryItem,
    GradePublic,
    ListingPublic,
    PersonPublic,
    ShareholderPublic,
    TaxPublic,
)
from api.schemas import AlertPublic
from rules.dishonest_officer import role_zh
from rules.grading import Grade
from streams.alert import Alert, fingerprint
from streams.identifiers import USCC_ALPHABET, age_at, uscc_check_char
from streams.profile import (
    EnterpriseProfile,
    Listing,
    PersonProfile,
    PersonRef,
    ShareholderRef,
    Tax,
)
from streams.rule_catalog import RULE_IDS

# Rules whose alerts are about an address or a person rather than one enterprise.
HUB_RULES: Mapping[str, tuple[str, ...]] = {
    "address": ("same_address_cluster",),
    "person": ("person_many_companies",),
}


def uscc_problem(code: str) -> str | None:
    """Why ``code`` is not a valid USCC (zh-CN), or ``None``.

    >>> uscc_problem("91350100M000100Y43") is None
    True
    >>> uscc_problem("91350100M000100Y44")
    '统一社会信用代码校验位错误'
    """
    if len(code) != 18:
        return f"统一社会信用代码应为18位，实际{len(code)}位"
    for i, char in enumerate(code, start=1):
        if char not in USCC_ALPHABET:
            return f"统一社会信用代码第{i}位字符不合法"
    if uscc_check_char(code[:17]) != code[17]:
        return "统一社会信用代码校验位错误"
    return None


def alert_fingerprints(ent: EnterpriseProfile) -> list[str]:
    """Every fingerprint an open alert about ``ent`` can have: its own, its address's and
    its people's (hub alerts)."""
    fps = [fingerprint(rule_id, "enterprise", ent.uscc) for rule_id in RULE_IDS]
    if ent.address_norm:
        fps += [fingerprint(r, "address", ent.address_norm) for r in HUB_RULES["address"]]
    for ref in ent.people():
        fps += [fingerprint(r, "person", ref.key) for r in HUB_RULES["person"]]
    return fps


def person_public(ref: PersonRef, today: date) -> PersonPublic:
    age = age_at(ref.birth_date, today) if ref.birth_date <= today else None
    return PersonPublic(
        key=ref.key, name=ref.name, id_number_masked=ref.masked, role=ref.role, age=age
    )


def flags_of(ent: EnterpriseProfile, people: Mapping[str, PersonProfile]) -> list[FlagPublic]:
    """The enterprise's adverse facts, most serious first."""
    out: list[FlagPublic] = []
    if not ent.active:
        reason = f"（{ent.deregistered_reason}）" if ent.deregistered_reason else ""
        out.append(FlagPublic(code=Flag.DEREGISTERED, text_zh=f"企业已注销{reason}"))
    for ref in ent.people():
        person = people.get(ref.key)
        if person is None:
            continue
        roles = "、".join(role_zh(r) for r in ent.roles_of(ref.key)) or "人员"
        if person.dishonest:
            code = Flag.LEGAL_REP_DISHONEST if _is_legal_rep(ent, ref) else Flag.OFFICER_DISHONEST
            text = f"{roles}{ref.name}（{ref.masked}）为失信被执行人"
            out.append(FlagPublic(code=code, text_zh=text))
        if person.criminal_cases:
            text = f"{roles}{ref.name}（{ref.masked}）涉刑事案件{len(person.criminal_cases)}件"
            out.append(FlagPublic(code=Flag.PERSON_CRIMINAL_CASE, text_zh=text))
    if ent.debtor_cases:
        text = f"企业为失信被执行人（{len(ent.debtor_cases)}案）"
        out.append(FlagPublic(code=Flag.ENTERPRISE_DISHONEST, text_zh=text))
    if ent.abnormal is not None:
        text = f"列入经营异常名录（{ent.abnormal.reason_code}）"
        out.append(FlagPublic(code=Flag.ABNORMAL_LISTED, text_zh=text))
    if ent.tax.arrears_outstanding > 0:
        text = f"欠缴税款{ent.tax.arrears_outstanding:,.0f}元"
        out.append(FlagPublic(code=Flag.TAX_ARREARS, text_zh=text))
    if ent.tax.credit_rating == "D":
        out.append(FlagPublic(code=Flag.TAX_CREDIT_D, text_zh="纳税信用等级为D级"))
    return out


def _is_legal_rep(ent: EnterpriseProfile, ref: PersonRef) -> bool:
    return ent.legal_rep is not None and ent.legal_rep.key == ref.key


def grade_public(grade: Grade) -> GradePublic:
    return GradePublic(
        grade=grade.grade,
        score=grade.score,
        at=grade.at,
        factors=[FactorPublic.model_validate(f.model_dump()) for f in grade.factors],
        rules_version=grade.rules_version,
    )


def shareholder_public(s: ShareholderRef, today: date) -> ShareholderPublic:
    return ShareholderPublic(
        holder_type=s.holder_type,
        name=s.name,
        stake_pct=s.stake_pct,
        person=person_public(s.person, today) if s.person else None,
        uscc=s.uscc,
    )


def listing_public(listing: Listing) -> ListingPublic:
    return ListingPublic(
        reason_code=listing.reason_code, authority=listing.authority, since=listing.since
    )


def tax_public(tax: Tax) -> TaxPublic:
    return TaxPublic(
        arrears_outstanding=tax.arrears_outstanding,
        arrears_since=tax.arrears_since,
        credit_rating=tax.credit_rating,
        credit_year=tax.credit_year,
        penalties_total=tax.penalties_total,
        penalties_count=tax.penalties_count,
        insured_employees=tax.insured_employees,
    )


def enterprise_public(
    ent: EnterpriseProfile,
    people: Mapping[str, PersonProfile],
    *,
    grade: Grade | None,
    history: Sequence[Grade],
    alerts: Sequence[Alert],
    today: date,
) -> EnterprisePublic:
    return EnterprisePublic(
        uscc=ent.uscc,
        name=ent.name,
        status=ent.status,
        registered_on=ent.registered_on,
        deregistered_at=ent.deregistered_at,
        deregistered_reason=ent.deregistered_reason,
        capital_registered=ent.capital_registered,
        capital_paid=ent.capital_paid,
        industry_code=ent.industry_code,
        business_scope=ent.business_scope,
        address_registered=ent.address_registered,
        address_business=ent.address_business,
        phone=ent.phone,
        legal_rep=person_public(ent.legal_rep, today) if ent.legal_rep else None,
        officers=[person_public(o, today) for o in ent.officers],
        shareholders=[shareholder_public(s, today) for s in ent.shareholders],
        abnormal_listing=listing_public(ent.abnormal) if ent.abnormal else None,
        tax=tax_public(ent.tax),
        cases_open=sum(1 for c in ent.cases.values() if c.closed_at is None),
        grade=grade_public(grade) if grade else None,
        grade_history=[
            GradeHistoryItem(grade=g.grade, score=g.score, at=g.at, rules_version=g.rules_version)
            for g in history
        ],
        flags=flags_of(ent, people),
        open_alerts=[AlertPublic.model_validate(a.model_dump()) for a in alerts],
        last_event_time=ent.last_event_time,
    )
