"""``tax_arrears``: 100,000 CNY outstanding or a ``D`` rating; it clears when neither holds."""

from __future__ import annotations

from rules.base import Clear, Hit
from rules.tax_arrears import TaxArrears

from .example_kit import example_kit

RULE = TaxArrears()


def test_the_threshold_includes_its_value() -> None:
    kit = example_kit()
    a, b = kit.f.uscc(), kit.f.uscc()
    kit.feed(kit.registered(a), kit.registered(b))
    assert isinstance(RULE.evaluate(*kit.case(kit.f.tax_arrears(a, 100_000.0)))[0], Hit)
    assert isinstance(RULE.evaluate(*kit.case(kit.f.tax_arrears(b, 99_999.0)))[0], Clear)


def test_clearing_the_arrears_clears_and_names_the_event() -> None:
    kit = example_kit()
    uscc = kit.f.uscc()
    kit.feed(kit.registered(uscc), kit.f.tax_arrears(uscc, 250_000.0, time=kit.day(1)))
    partial = kit.f.event("tax.arrears_cleared", uscc, {"amount": 100_000.0}, time=kit.day(2))
    assert RULE.evaluate(*kit.case(partial)) == ()  # 150,000 still outstanding
    rest = kit.f.event("tax.arrears_cleared", uscc, {"amount": 150_000.0}, time=kit.day(3))
    [clear] = RULE.evaluate(*kit.case(rest))
    assert isinstance(clear, Clear)
    assert clear.reason == "欠缴税款已清缴150,000元，剩余欠税0元，低于阈值100,000元"


def test_a_d_rating_keeps_it_open_until_it_improves() -> None:
    kit = example_kit()
    uscc = kit.f.uscc()
    rated = kit.f.event("tax.credit_rated", uscc, {"year": 2024, "rating": "D"}, time=kit.day(1))
    [hit] = RULE.evaluate(*kit.case(kit.registered(uscc), rated))
    assert isinstance(hit, Hit)
    assert "2024年度纳税信用等级为D级" in hit.explanation
    kit.feed(kit.f.tax_arrears(uscc, 300_000.0, time=kit.day(2)))
    cleared = kit.f.event("tax.arrears_cleared", uscc, {"amount": 300_000.0}, time=kit.day(3))
    assert RULE.evaluate(*kit.case(cleared)) == ()  # still rated D
    better = kit.f.event("tax.credit_rated", uscc, {"year": 2025, "rating": "B"}, time=kit.day(4))
    [clear] = RULE.evaluate(*kit.case(better))
    assert isinstance(clear, Clear)
    assert "2025年度纳税信用等级调整为B级" in clear.reason
