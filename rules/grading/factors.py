"""The facts of each dimension, as :class:`Factor` s with the event ids behind them.

Windows count business days (:func:`rules.windows.business_day`) and include both ends:
"within 365 days" of ``at`` reaches back to the same calendar day a year before. A fact
dated after ``at`` does not count, so a grade is the same whenever it is computed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from rules.dishonest_officer import role_zh
from rules.grading.weights import GradeWeights, tier_points
from rules.windows import business_day
from streams.grade import Dimension, Factor, FactorCode, signed_points
from streams.profile import EnterpriseProfile, PersonProfile, PersonRef

Found = tuple[Factor, tuple[str, ...]]  # a factor and the ids of the events behind it

ABNORMAL_REASON_ZH = {
    "unreachable_address": "通过登记的住所或者经营场所无法联系",
    "annual_report_missing": "未按规定报送年度报告",
    "false_information": "公示信息隐瞒真实情况、弄虚作假",
    "other": "其他原因",
}
CHANNEL_ZH = {"phone": "电话", "address": "住所", "mail": "邮寄"}


def _found(
    code: FactorCode, dim: Dimension, points: float, text: str, ids: Iterable[str] = ()
) -> Found:
    points = round(points, 1)
    factor = Factor(
        code=code, dimension=dim, points=points, text_zh=f"{text} {signed_points(points)}"
    )
    return factor, tuple(i for i in ids if i)


def _within(t: datetime, at: datetime, days: int) -> bool:
    return t <= at and business_day(t) >= business_day(at) - timedelta(days=days)


def _periods(at: datetime, months: int) -> tuple[str, ...]:
    """The ``YYYY-MM`` periods of the ``months`` months ending with ``at``'s month."""
    day = business_day(at)
    return _periods_ending(day.year, day.month, months)


@functools.lru_cache(maxsize=1024)
def _periods_ending(year: int, month: int, months: int) -> tuple[str, ...]:
    # Cached: every regrade asks, and almost always for the same few months.
    out = []
    for _ in range(months):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return tuple(out)


def penalties(ent: EnterpriseProfile, at: datetime, w: GradeWeights) -> list[Found]:
    out: list[Found] = []
    imposed = [
        t
        for t in ent.attention
        if t.kind == "penalty" and _within(t.time, at, w.penalty_window_days)
    ]
    if imposed:
        departments = "、".join(sorted({t.department for t in imposed if t.department}))
        by = f"（{departments}）" if departments else ""
        out.append(
            _found(
                FactorCode.PENALTY_IMPOSED,
                Dimension.PENALTIES,
                min(len(imposed) * w.penalty_imposed, w.penalty_max),
                f"近{w.penalty_window_days}天受到行政处罚{len(imposed)}次{by}",
                (t.event_id for t in imposed),
            )
        )
    tax = ent.tax
    if tax.penalties_count:
        out.append(
            _found(
                FactorCode.TAX_PENALTY,
                Dimension.PENALTIES,
                min(tax.penalties_count * w.tax_penalty, w.tax_penalty_max),
                f"税务行政处罚{tax.penalties_count}次，罚款合计{tax.penalties_total:,.0f}元",
            )
        )
    return out


def _cases(ent: EnterpriseProfile, at: datetime, w: GradeWeights) -> list[Found]:
    out: list[Found] = []
    for role, code, each, zh in (
        ("defendant", FactorCode.CASES_DEFENDANT, w.case_defendant, "被告"),
        ("executed_person", FactorCode.CASES_EXECUTED, w.case_executed, "被执行人"),
    ):
        open_cases = [
            c
            for c in ent.cases.values()
            if c.role == role
            and _within(c.filed_at, at, w.case_window_days)
            and (c.closed_at is None or c.closed_at > at)
        ]
        if not open_cases:
            continue
        total = sum(c.amount or 0.0 for c in open_cases)
        amount = f"，涉案金额合计{total:,.0f}元" if total else ""
        text = f"近{w.case_window_days}天作为{zh}的未结案件{len(open_cases)}件{amount}"
        out.append(_found(code, Dimension.ADVERSE, min(len(open_cases) * each, w.cases_max), text))
    return out


def _enterprise_dishonest(ent: EnterpriseProfile, at: datetime, w: GradeWeights) -> list[Found]:
    listed = sorted(
        (d for d in ent.debtor_cases.values() if d.listed_at <= at), key=lambda d: d.case_no
    )
    if not listed:
        return []
    total = sum(d.amount or 0.0 for d in listed)
    cases = "、".join(d.case_no for d in listed)
    amount = f"，涉及金额合计{total:,.0f}元" if total else ""
    return [
        _found(
            FactorCode.ENTERPRISE_DISHONEST,
            Dimension.ADVERSE,
            w.enterprise_dishonest,
            f"企业被列入失信被执行人名单{len(listed)}件（案号{cases}{amount}）",
            (d.event_id for d in listed),
        )
    ]


def _person(
    ref: PersonRef, roles: list[str], person: PersonProfile, at: datetime, w: GradeWeights
) -> list[Found]:
    legal = "legal_rep" in roles
    who = "、".join(role_zh(r) for r in roles) + f"{ref.name}（{ref.masked}）"
    out: list[Found] = []
    debts = [d for d in person.debtor_cases.values() if d.listed_at <= at]
    if debts:
        count = f"（{len(debts)}件）" if len(debts) > 1 else ""
        out.append(
            _found(
                FactorCode.LEGAL_REP_DISHONEST if legal else FactorCode.OFFICER_DISHONEST,
                Dimension.ADVERSE,
                w.legal_rep_dishonest if legal else w.officer_dishonest,
                f"{who}被列入失信被执行人名单{count}",
                (d.event_id for d in debts),
            )
        )
    crimes = [c for c in person.criminal_cases.values() if c.time <= at]
    if crimes:
        out.append(
            _found(
                FactorCode.LEGAL_REP_CRIMINAL if legal else FactorCode.OFFICER_CRIMINAL,
                Dimension.ADVERSE,
                w.legal_rep_criminal if legal else w.officer_criminal,
                f"{who}涉及刑事案件{len(crimes)}件",
                (c.event_id for c in crimes),
            )
        )
    return out


def _tax_and_listing(ent: EnterpriseProfile, at: datetime, w: GradeWeights) -> list[Found]:
    out: list[Found] = []
    tax = ent.tax
    arrears = tier_points(w.arrears_tiers, tax.arrears_outstanding)
    if arrears and (tax.arrears_time is None or tax.arrears_time <= at):
        since = f"（自{tax.arrears_since.isoformat()}起）" if tax.arrears_since else ""
        out.append(
            _found(
                FactorCode.TAX_ARREARS,
                Dimension.ADVERSE,
                arrears,
                f"欠缴税款{tax.arrears_outstanding:,.0f}元{since}",
                [tax.arrears_event_id or ""],
            )
        )
    if ent.abnormal is not None and ent.abnormal.since <= at:
        reason = ABNORMAL_REASON_ZH.get(ent.abnormal.reason_code, ent.abnormal.reason_code)
        since = business_day(ent.abnormal.since).isoformat()
        out.append(
            _found(
                FactorCode.ABNORMAL_LISTING,
                Dimension.ADVERSE,
                w.abnormal_listing,
                f"被列入经营异常名录（{reason}，自{since}起）",
            )
        )
    failed = [t for t in ent.contact_failures if _within(t.time, at, w.contact_window_days)]
    if failed:
        channels = "、".join(sorted({CHANNEL_ZH.get(t.kind, t.kind) for t in failed}))
        out.append(
            _found(
                FactorCode.CONTACT_FAILED,
                Dimension.ADVERSE,
                min(len(failed) * w.contact_failed, w.contact_failed_max),
                f"近{w.contact_window_days}天联系失败{len(failed)}次（{channels}）",
                (t.event_id for t in failed),
            )
        )
    low = {"C": w.rating_c, "D": w.rating_d}.get(_rating(ent, at) or "")
    if low is not None:
        out.append(_rating_found(ent, FactorCode.TAX_RATING_LOW, Dimension.ADVERSE, low))
    return out


def adverse(
    ent: EnterpriseProfile, people: Mapping[str, PersonProfile], at: datetime, w: GradeWeights
) -> list[Found]:
    out = _cases(ent, at, w) + _enterprise_dishonest(ent, at, w)
    for ref in ent.people():
        person = people.get(ref.key)
        if person is not None:
            out += _person(ref, ent.roles_of(ref.key), person, at, w)
    return out + _tax_and_listing(ent, at, w)


def _rating(ent: EnterpriseProfile, at: datetime) -> str | None:
    tax = ent.tax
    if tax.credit_time is not None and tax.credit_time > at:
        return None
    return tax.credit_rating


def _rating_found(ent: EnterpriseProfile, code: FactorCode, dim: Dimension, points: float) -> Found:
    tax = ent.tax
    year = f"{tax.credit_year}年度" if tax.credit_year else ""
    text = f"{year}纳税信用等级为{tax.credit_rating}级"
    return _found(code, dim, points, text, [tax.credit_event_id or ""])


def contributions(ent: EnterpriseProfile, at: datetime, w: GradeWeights) -> list[Found]:
    out: list[Found] = []
    months = w.contribution_months
    periods = _periods(at, months)
    paid = {p: ent.tax.paid_by_period[p] for p in periods if ent.tax.paid_by_period.get(p)}
    total = sum(paid.values())
    points = tier_points(w.tax_paid_tiers, total)
    if points:
        text = f"近{months}个月纳税合计{total:,.0f}元"
        out.append(_found(FactorCode.TAX_PAID, Dimension.CONTRIBUTIONS, points, text))
    if len(paid) >= w.steady_months:
        text = f"近{months}个月中{len(paid)}个月有纳税记录"
        out.append(
            _found(FactorCode.TAX_PAID_STEADY, Dimension.CONTRIBUTIONS, w.steady_points, text)
        )
    staff = ent.tax.insured_employees
    if staff and ent.tax.insured_period in periods:
        points = tier_points(w.employees_tiers, staff)
        if points:
            text = f"参保职工{staff}人（{ent.tax.insured_period}）"
            out.append(_found(FactorCode.INSURED_EMPLOYEES, Dimension.CONTRIBUTIONS, points, text))
    high = {"A": w.rating_a, "B": w.rating_b}.get(_rating(ent, at) or "")
    if high is not None:
        out.append(_rating_found(ent, FactorCode.TAX_RATING_HIGH, Dimension.CONTRIBUTIONS, high))
    credit = -sum(f.points for f, _ in out)
    if credit > w.credit_max:
        text = f"贡献类减分合计{credit:.1f}分，超过上限{w.credit_max:.1f}分，超出部分不计"
        out.append(
            _found(FactorCode.CREDIT_CAP, Dimension.CONTRIBUTIONS, credit - w.credit_max, text)
        )
    return out
