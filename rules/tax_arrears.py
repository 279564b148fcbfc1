"""``tax_arrears``: outstanding arrears of N CNY or more, or a tax credit rating of ``D``.

Every input changes the tax facts (a new report replaces the outstanding amount, a
clearance lowers it, a new rating replaces the old one), so when none of the two facts
holds any more the open alert is cleared, naming the event that ended it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rules.base import Facts, Rule, Verdict
from rules.examples import Example, Kit
from rules.params import TaxArrearsParams
from streams.alert import Evidence
from streams.event import Event
from streams.profile import Tax


def tax_findings(tax: Tax, min_arrears_cny: float, ratings: Sequence[str]) -> list[Evidence]:
    """The facts that make the rule fire, each as evidence of the event that reported it."""
    out: list[Evidence] = []
    if tax.arrears_outstanding >= min_arrears_cny and tax.arrears_time and tax.arrears_event_id:
        since = f"自{tax.arrears_since.isoformat()}起" if tax.arrears_since else ""
        fact = f"{since}欠缴税款{tax.arrears_outstanding:,.0f}元，达到阈值{min_arrears_cny:,.0f}元"
        source = tax.arrears_source or ""
        out.append(
            Evidence(
                event_id=tax.arrears_event_id,
                source=source,
                type="tax.arrears",
                time=tax.arrears_time,
                fact=fact,
            )
        )
    if tax.credit_rating in ratings and tax.credit_time and tax.credit_event_id:
        fact = f"{tax.credit_year}年度纳税信用等级为{tax.credit_rating}级"
        source = tax.credit_source or ""
        out.append(
            Evidence(
                event_id=tax.credit_event_id,
                source=source,
                type="tax.credit_rated",
                time=tax.credit_time,
                fact=fact,
            )
        )
    return out


class TaxArrears(Rule[TaxArrearsParams]):
    rule_id = "tax_arrears"
    version = 2
    inputs: ClassVar[frozenset[str]] = frozenset(
        {"tax.arrears", "tax.arrears_cleared", "tax.credit_rated"}
    )

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Verdict]:
        ent = facts.enterprise
        evidence = tax_findings(ent.tax, self.params.min_arrears_cny, self.params.ratings)
        if not evidence:
            return (
                self.clear(
                    subject_kind="enterprise",
                    subject_id=ent.uscc,
                    reason=self._reason(event, ent.tax),
                ),
            )
        if event.type == "tax.arrears_cleared":
            return ()  # a partial clearance: the arrears still stand, nothing new to say
        name = ent.name or ent.uscc
        return (
            self.hit(
                subject_kind="enterprise",
                subject_id=ent.uscc,
                enterprises=[ent.uscc],
                title=f"{name}：欠税或纳税信用D级",
                explanation=f"企业{name}（{ent.uscc}）"
                + "；".join(e.fact for e in evidence)
                + "。",
                evidence=evidence,
            ),
        )

    def _reason(self, event: Event, tax: Tax) -> str:
        least = self.params.min_arrears_cny
        left = f"剩余欠税{tax.arrears_outstanding:,.0f}元，低于阈值{least:,.0f}元"
        if event.type == "tax.arrears_cleared":
            amount = float(getattr(event.data, "amount", 0.0))
            return f"欠缴税款已清缴{amount:,.0f}元，{left}"
        if event.type == "tax.credit_rated":
            return f"{tax.credit_year}年度纳税信用等级调整为{tax.credit_rating}级，{left}"
        return f"税务机关最新报告{left.removeprefix('剩余')}"

    @classmethod
    def example(cls, kit: Kit) -> Example:
        """Arrears of exactly 100,000 CNY."""
        uscc = kit.f.uscc()
        return kit.case(kit.registered(uscc), kit.f.tax_arrears(uscc, 100_000.0, time=kit.day(5)))

    @classmethod
    def counter_example(cls, kit: Kit) -> Example:
        """Arrears of 99,999 CNY, then a tax credit rating of B."""
        uscc = kit.f.uscc()
        return kit.case(
            kit.registered(uscc),
            kit.f.tax_arrears(uscc, 99_999.0, time=kit.day(5)),
            kit.f.event("tax.credit_rated", uscc, {"year": 2025, "rating": "B"}, time=kit.day(6)),
        )
