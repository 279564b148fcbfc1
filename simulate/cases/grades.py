"""Planted cases of the rules that read a score: the grade falling, and the early-warning
model (probabilistic: scored by AUC, reported but not counted in the minimum)."""

from __future__ import annotations

from simulate.plant import Planter, days

DISHONEST = "dishonest_officer"
ARREARS = "tax_arrears"
DOWNGRADE = "grade_downgrade"
WARNING = "early_warning"


# -- grade_downgrade ------------------------------------------------------------------------


def falls_to_d(p: Planter) -> None:
    a = p.anchor(lead=300, span=90)
    rep = p.person()
    firm = p.firm(a - days(300), rep=rep)
    p.at(a, p.emit.debtor_listed, rep, p.emit.case_no(a.year, "enforcement"), 800_000.0)
    p.at(a + days(40), p.emit.tax_arrears, firm, 300_000.0, a)
    p.at(a + days(80), p.emit.abnormal_listed, firm, "annual_report_missing", "未报送年度报告")
    p.expect(DOWNGRADE, firm, "纳税良好的企业：法定代表人失信、欠税30万、列入异常名录")
    p.expect(DISHONEST, firm, "法定代表人被列入失信被执行人名单")
    p.expect(ARREARS, firm, "欠税300,000元")


def steady_contributor(p: Planter) -> None:
    a = p.anchor(lead=300, span=10)
    firm = p.firm(a - days(300))
    p.at(a, p.emit.inspection, firm, "samr", "random", True, False)
    p.forbid(DOWNGRADE, firm, "持续纳税、参保，只有一次无违法的抽查")


# -- early_warning (a model: scored by AUC, reported but not in the minimum) ----------------


def high_risk(p: Planter) -> None:
    a = p.anchor(lead=120, span=250)
    rep = p.person()
    firm = p.firm(a - days(120), rep=rep, capital_paid=0.0)
    p.at(a, p.emit.tax_arrears, firm, 250_000.0, a - days(90))
    p.at(a + days(35), p.emit.abnormal_listed, firm, "unreachable_address", "住所无法联系")
    p.at(a + days(70), p.emit.debtor_listed, rep, p.emit.case_no(a.year, "enforcement"), 4e5)
    for d in (100, 130):
        p.at(a + days(d), p.emit.contact_failed, firm, "samr", "address")
    for d, dept in ((160, "samr"), (200, "police"), (240, "tax")):
        p.at(a + days(d), p.emit.inspection, firm, dept, "complaint", False, True)
    p.expect(WARNING, firm, "欠税、异常名录、法定代表人失信、多次联系失败，检查屡次发现违法")


def low_risk(p: Planter) -> None:
    a = p.anchor(lead=120, span=250)
    firm = p.firm(a - days(120))
    for d, dept in ((160, "samr"), (200, "police"), (240, "tax")):
        p.at(a + days(d), p.emit.inspection, firm, dept, "random", True, False)
    p.forbid(WARNING, firm, "持续纳税参保，检查均未发现违法")
