"""Planted cases of the rules that count one firm's own facts in a window or against a
threshold."""

from __future__ import annotations

from simulate.plant import Planter, days

CHURN = "frequent_shareholder_change"
UNREACHABLE = "unreachable_contact"
LITIGATION = "litigation_surge"
ARREARS = "tax_arrears"
ATTENTION = "multi_department_attention"


# -- frequent_shareholder_change ------------------------------------------------------------


def _churn(p: Planter, offsets: tuple[int, ...]) -> None:
    a = p.anchor(span=max(offsets) + 10)
    firm = p.firm(a)
    for d in offsets:
        p.at(a + days(d), p.emit.changed, firm, "shareholders", None, p.new_holders())
    note = f"股东变更于第{'、'.join(map(str, offsets))}天"
    if len(offsets) >= 3 and offsets[2] - offsets[0] <= 90:
        p.expect(CHURN, firm, note + "（90天内3次，含端点）")
    elif len(offsets) >= 3:
        p.forbid(CHURN, firm, note + "（90天内不足3次）", ("window_days", offsets[2] - offsets[0]))
    else:
        p.forbid(CHURN, firm, note + "（90天内不足3次）", ("min_changes", len(offsets)))


def churn_edge(p: Planter) -> None:
    _churn(p, (100, 145, 190))


def churn_day_outside(p: Planter) -> None:
    _churn(p, (100, 145, 191))


def churn_twice(p: Planter) -> None:
    _churn(p, (100, 130))


# -- unreachable_contact --------------------------------------------------------------------


def _failures(p: Planter, offsets: tuple[int, ...]) -> None:
    a = p.anchor(lead=30, span=max(offsets) + 10)
    firm = p.firm(a - days(30))
    for d, channel in zip(offsets, ("phone", "address", "mail"), strict=False):
        p.at(a + days(d), p.emit.contact_failed, firm, "samr", channel)
    note = f"联系失败于第{'、'.join(map(str, offsets))}天：180天内不足2次"
    if len(offsets) >= 2 and offsets[1] - offsets[0] <= 180:
        p.expect(UNREACHABLE, firm, f"两次联系失败相隔{offsets[1] - offsets[0]}天（含端点）")
    elif len(offsets) >= 2:
        p.forbid(UNREACHABLE, firm, note, ("window_days", offsets[1] - offsets[0]))
    else:
        p.forbid(UNREACHABLE, firm, note, ("min_failures", len(offsets)))


def failures_edge(p: Planter) -> None:
    _failures(p, (0, 180))


def failures_day_outside(p: Planter) -> None:
    _failures(p, (0, 181))


def single_failure(p: Planter) -> None:
    _failures(p, (0,))


def _listing(p: Planter, code: str) -> None:
    a = p.anchor(lead=30, span=10)
    firm = p.firm(a - days(30))
    p.at(a, p.emit.abnormal_listed, firm, code, "列入经营异常名录")
    if code == "unreachable_address":
        p.expect(UNREACHABLE, firm, "因通过登记的住所无法联系被列入经营异常名录")
    else:
        p.forbid(UNREACHABLE, firm, f"经营异常名录原因是{code}，不是无法联系")


def listed_unreachable(p: Planter) -> None:
    _listing(p, "unreachable_address")


def listed_for_annual_report(p: Planter) -> None:
    _listing(p, "annual_report_missing")


# -- litigation_surge -----------------------------------------------------------------------


def _lawsuits(
    p: Planter,
    filed: tuple[tuple[int, str], ...],
    fire: bool,
    note: str,
    near: tuple[str, float] | None = None,
) -> None:
    a = p.anchor(lead=30, span=filed[-1][0] + 10)
    firm = p.firm(a - days(30))
    for d, role in filed:
        day = a + days(d)
        kind = "enforcement" if role == "executed_person" else "civil"
        amount = float(p.rng.randrange(50_000, 900_000))
        p.at(day, p.emit.case_filed, firm, p.emit.case_no(day.year, kind), kind, role, amount)
    if fire:
        p.expect(LITIGATION, firm, note)
    else:
        p.forbid(LITIGATION, firm, note, near)


def lawsuits_edge(p: Planter) -> None:
    cases = ((0, "defendant"), (15, "executed_person"), (30, "defendant"))
    _lawsuits(p, cases, True, "30天内3次作为被告或被执行人（含端点）")


def lawsuits_day_outside(p: Planter) -> None:
    cases = ((0, "defendant"), (15, "defendant"), (31, "defendant"))
    _lawsuits(p, cases, False, "3次被诉跨31天", ("window_days", 31))


def lawsuits_as_plaintiff(p: Planter) -> None:
    cases = ((0, "defendant"), (10, "plaintiff"), (20, "defendant"))
    _lawsuits(p, cases, False, "30天内3件，但1件是原告")


# -- tax_arrears ----------------------------------------------------------------------------


def _arrears(p: Planter, amount: float, fire: bool, *, cleared: bool = False) -> None:
    a = p.anchor(lead=60, span=100)
    firm = p.firm(a - days(60))
    p.at(a, p.emit.tax_arrears, firm, amount, a - days(45))
    if cleared:
        p.at(a + days(60), p.emit.arrears_cleared, firm, amount)
    note = f"欠税{amount:,.2f}元" + ("，60天后结清" if cleared else "")
    if fire:
        p.expect(ARREARS, firm, note)
    else:
        p.forbid(ARREARS, firm, note, ("min_arrears_cny", amount))


def arrears_at_threshold(p: Planter) -> None:
    _arrears(p, 100_000.0, True)


def arrears_cleared_later(p: Planter) -> None:
    _arrears(p, 260_000.0, True, cleared=True)


def arrears_just_below(p: Planter) -> None:
    _arrears(p, 99_999.99, False)


def arrears_well_below(p: Planter) -> None:
    """A second near-miss further off: a candidate threshold between the two catches
    one and not the other."""
    _arrears(p, 95_000.0, False)


def _rating(p: Planter, rating: str) -> None:
    a = p.anchor(lead=400, span=10)
    firm = p.firm(a - days(400))
    p.at(a, p.emit.credit_rated, firm, a.year - 1, rating)
    (p.expect if rating == "D" else p.forbid)(ARREARS, firm, f"纳税信用等级{rating}")


def rated_d(p: Planter) -> None:
    _rating(p, "D")


def rated_c(p: Planter) -> None:
    _rating(p, "C")


# -- multi_department_attention -------------------------------------------------------------


def _attention(p: Planter, second: tuple[int, str], fire: bool, note: str) -> None:
    a = p.anchor(lead=30, span=second[0] + 10)
    firm = p.firm(a - days(30))
    p.at(a, p.emit.inspection, firm, "samr", "routine", True, False)
    p.at(a + days(second[0]), p.emit.inspection, firm, second[1], "special_campaign", True, False)
    if fire:
        p.expect(ATTENTION, firm, note)
    elif second[1] != "samr":  # another department, one day too late
        p.forbid(ATTENTION, firm, note, ("window_days", second[0]))
    else:
        p.forbid(ATTENTION, firm, note, ("min_departments", 1))


def two_departments_edge(p: Planter) -> None:
    _attention(p, (30, "police"), True, "市场监管与公安相隔30天检查（含端点）")


def penalty_and_failed_contact(p: Planter) -> None:
    a = p.anchor(lead=30, span=20)
    firm = p.firm(a - days(30))
    p.at(a, p.emit.penalty, firm, "enforcement-bureau", 20_000.0, "无照经营")
    p.at(a + days(12), p.emit.contact_failed, firm, "qianhai-authority", "phone")
    p.expect(ATTENTION, firm, "综合执法局处罚后12天前海管理局联系失败")


def two_departments_day_outside(p: Planter) -> None:
    _attention(p, (31, "police"), False, "两部门检查相隔31天")


def one_department_twice(p: Planter) -> None:
    _attention(p, (10, "samr"), False, "同一部门10天内两次检查")
