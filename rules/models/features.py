"""The numeric features of one enterprise at one event time, and the labels, for the online
models.

:func:`features` is pure and deterministic: the same profile, people and ``at`` give the same
numbers, whatever the order facts were folded in. Every fact that carries a business time
counts only if it was known at ``at`` (windows include both ends), so an inspection scored
or learned after later facts have arrived sees the enterprise as it was then. Facts the
profile keeps without history (capital, arrears, rating, head count) count when the latest
report is not newer than ``at``, and are missing otherwise.

Heavy-tailed amounts are ``log1p``'d; :func:`describe` turns a value back into words for
an explanation.

>>> from datetime import UTC, datetime
>>> x = features(EnterpriseProfile(uscc="91440300MA5DA1B2XK"), {}, datetime(2026, 1, 5, tzinfo=UTC))
>>> list(x) == list(FEATURE_NAMES) and x["tax_credit_rating"] == 2.0
True
>>> describe("log_arrears", math.log1p(350_000))
'欠缴税款（约350,000元）'
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from streams.event import Event
from streams.profile import EnterpriseProfile, PersonProfile, Touch
from streams.schemas.enforcement import InspectionRecorded


class Unit(enum.Enum):
    """How a feature's value reads in an explanation."""

    COUNT = "count"  # 3 -> 3次 / 3人
    FLAG = "flag"  # 1.0 -> 是
    YEARS = "years"
    LOG_CNY = "log_cny"  # log1p(CNY) -> 约350,000元
    LOG_PEOPLE = "log_people"  # log1p(people) -> 12人
    RATING = "rating"  # ordinal -> D级
    SCORE = "score"  # 0..1


@dataclass(frozen=True, slots=True)
class Feature:
    name_zh: str
    unit: Unit
    suffix: str = ""  # for counts: 次, 件, 人, 个


RATING_ORDINAL = {"A": 0.0, "B": 1.0, "M": 2.0, "C": 3.0, "D": 4.0}
UNRATED = RATING_ORDINAL["M"]  # the rating of a taxpayer not yet rated
YOUNG_OFFICER_AGE = 25  # younger than this
OLD_OFFICER_AGE = 70  # this age or older
ANOMALY_SCORE = "anomaly_score"  # added by the model, not by features()

FEATURES: dict[str, Feature] = {
    "age_years": Feature("成立年限", Unit.YEARS),
    "capital_unpaid": Feature("实缴资本为零", Unit.FLAG),
    "log_capital": Feature("注册资本", Unit.LOG_CNY),
    "open_defendant_cases_365d": Feature("近365天作为被告或被执行人的未结案件", Unit.COUNT, "件"),
    "failed_contacts_180d": Feature("近180天联系失败", Unit.COUNT, "次"),
    "abnormal_listed": Feature("被列入经营异常名录", Unit.FLAG),
    "log_arrears": Feature("欠缴税款", Unit.LOG_CNY),
    "tax_credit_rating": Feature("纳税信用等级", Unit.RATING),
    "log_tax_paid_12m": Feature("近12个月纳税额", Unit.LOG_CNY),
    "log_insured_employees": Feature("参保人数", Unit.LOG_PEOPLE),
    "penalties_365d": Feature("近365天行政处罚", Unit.COUNT, "次"),
    "tax_penalties": Feature("税务处罚", Unit.COUNT, "次"),
    "departments_30d": Feature("近30天检查、处罚或联系失败的部门", Unit.COUNT, "个"),
    "shareholder_changes_90d": Feature("近90天股东变更", Unit.COUNT, "次"),
    "enterprise_debtor_cases": Feature("企业被列为失信被执行人", Unit.COUNT, "件"),
    "dishonest_people": Feature("失信被执行人高管", Unit.COUNT, "人"),
    "criminal_people": Feature("涉刑事案件高管", Unit.COUNT, "人"),
    "young_officers": Feature(f"未满{YOUNG_OFFICER_AGE}岁的高管", Unit.COUNT, "人"),
    "old_officers": Feature(f"{OLD_OFFICER_AGE}岁及以上的高管", Unit.COUNT, "人"),
}
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURES)
MODEL_FEATURES: dict[str, Feature] = {
    **FEATURES,
    ANOMALY_SCORE: Feature("画像异常程度", Unit.SCORE),
}
FEATURE_NAMES_ZH: dict[str, str] = {name: f.name_zh for name, f in MODEL_FEATURES.items()}


def features(
    enterprise: EnterpriseProfile, people: Mapping[str, PersonProfile], at: datetime
) -> dict[str, float]:
    """The features of ``enterprise`` as known at ``at``, in :data:`FEATURE_NAMES` order.

    ``people`` holds the person profiles of its legal representative and officers, by key
    (missing ones count as clean)."""
    ent, tax, day = enterprise, enterprise.tax, at.date()
    refs = sorted(ent.people(), key=lambda r: r.key)
    ages = [_age(r.birth_date, day) for r in refs]
    x = {
        "age_years": max(0.0, (day - ent.registered_on).days / 365.25)
        if ent.registered_on
        else 0.0,
        "capital_unpaid": _flag(ent.capital_paid == 0.0),
        "log_capital": math.log1p(max(0.0, ent.capital_registered or 0.0)),
        "open_defendant_cases_365d": float(
            sum(
                1
                for c in ent.cases.values()
                if c.role in ("defendant", "executed_person")
                and _within(c.filed_at, at, 365)
                and (c.closed_at is None or c.closed_at > at)
            )
        ),
        "failed_contacts_180d": _count(ent.contact_failures, at, 180),
        "abnormal_listed": _flag(ent.abnormal is not None and ent.abnormal.since <= at),
        "log_arrears": math.log1p(tax.arrears_outstanding)
        if tax.arrears_time is not None and tax.arrears_time <= at
        else 0.0,
        "tax_credit_rating": RATING_ORDINAL.get(tax.credit_rating or "", UNRATED)
        if tax.credit_time is not None and tax.credit_time <= at
        else UNRATED,
        "log_tax_paid_12m": math.log1p(_paid_12m(tax.paid_by_period, day)),
        "log_insured_employees": math.log1p(tax.insured_employees or 0)
        if tax.insured_period is not None and tax.insured_period <= _period(day)
        else 0.0,
        "penalties_365d": _count(ent.attention, at, 365, kind="penalty"),
        "tax_penalties": float(tax.penalties_count),
        "departments_30d": float(
            len({t.department for t in ent.attention if t.department and _within(t.time, at, 30)})
        ),
        "shareholder_changes_90d": _count(ent.shareholder_changes, at, 90),
        "enterprise_debtor_cases": float(
            sum(1 for c in ent.debtor_cases.values() if c.listed_at <= at)
        ),
        "dishonest_people": float(sum(1 for r in refs if _dishonest(people.get(r.key), at))),
        "criminal_people": float(sum(1 for r in refs if _criminal(people.get(r.key), at))),
        "young_officers": float(sum(1 for a in ages if a < YOUNG_OFFICER_AGE)),
        "old_officers": float(sum(1 for a in ages if a >= OLD_OFFICER_AGE)),
    }
    return {name: float(x[name]) for name in FEATURE_NAMES}


def label_of(event: Event) -> bool | None:
    """The ground truth an event carries about its enterprise: ``violation_found`` of an
    ``inspection.recorded`` about an enterprise, or ``None`` (undecided, or not a label)."""
    data = event.data
    if event.subject.kind != "enterprise" or not isinstance(data, InspectionRecorded):
        return None
    return data.violation_found


def describe(name: str, value: float) -> str:
    """``name`` in zh-CN with ``value`` in its own unit, e.g. ``近180天联系失败（3次）``."""
    feature = MODEL_FEATURES[name]
    match feature.unit:
        case Unit.FLAG:
            shown = "是" if value >= 0.5 else "否"
        case Unit.YEARS:
            shown = f"{value:.1f}年"
        case Unit.LOG_CNY:
            shown = f"约{math.expm1(value):,.0f}元"
        case Unit.LOG_PEOPLE:
            shown = f"{math.expm1(value):,.0f}人"
        case Unit.RATING:
            shown = f"{_rating_letter(value)}级" if value != UNRATED else "M级或未评级"
        case Unit.SCORE:
            shown = f"{value:.2f}"
        case Unit.COUNT:
            shown = f"{value:,.0f}{feature.suffix}"
    return f"{feature.name_zh}（{shown}）"


def _flag(cond: bool) -> float:
    return 1.0 if cond else 0.0


def _within(t: datetime, at: datetime, days: int) -> bool:
    return at - timedelta(days=days) <= t <= at


def _count(touches: Iterable[Touch], at: datetime, days: int, *, kind: str | None = None) -> float:
    return float(
        sum(1 for t in touches if (kind is None or t.kind == kind) and _within(t.time, at, days))
    )


def _period(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _paid_12m(paid: Mapping[str, float], day: date) -> float:
    """Tax paid in the 12 monthly periods ending with ``day``'s month (``fsum``: exact, so the
    order the periods were stored in does not matter)."""
    months = day.year * 12 + day.month - 1
    periods = {_period(date(m // 12, m % 12 + 1, 1)) for m in range(months - 11, months + 1)}
    return math.fsum(max(0.0, amount) for period, amount in paid.items() if period in periods)


def _age(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _dishonest(person: PersonProfile | None, at: datetime) -> bool:
    return person is not None and any(c.listed_at <= at for c in person.debtor_cases.values())


def _criminal(person: PersonProfile | None, at: datetime) -> bool:
    return person is not None and any(c.time <= at for c in person.criminal_cases.values())


def _rating_letter(value: float) -> str:
    return min(RATING_ORDINAL, key=lambda letter: abs(RATING_ORDINAL[letter] - value))
