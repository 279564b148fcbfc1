"""``tax_arrears``: outstanding arrears of N CNY or more, or a tax credit rating of ``D``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rules.base import Facts, Hit, Rule
from streams.alert import Evidence, Severity
from streams.event import Event

DEFAULTS = {"min_arrears_cny": 100_000.0, "ratings": ("D",)}


class TaxArrears(Rule):
    rule_id = "tax_arrears"
    version = 1
    severity = Severity.HIGH
    inputs: ClassVar[frozenset[str]] = frozenset({"tax.arrears", "tax.credit_rated"})

    def __init__(
        self,
        min_arrears_cny: float = float(DEFAULTS["min_arrears_cny"]),  # type: ignore[arg-type]
        ratings: tuple[str, ...] = DEFAULTS["ratings"],  # type: ignore[assignment]
    ) -> None:
        super().__init__(min_arrears_cny=min_arrears_cny, ratings=ratings)
        self.min_arrears_cny, self.ratings = min_arrears_cny, ratings

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Hit]:
        ent, tax = facts.enterprise, facts.enterprise.tax
        lines: list[str] = []
        evidence: list[Evidence] = []
        if tax.arrears_outstanding >= self.min_arrears_cny and tax.arrears_time:
            since = f"自{tax.arrears_since.isoformat()}起" if tax.arrears_since else ""
            fact = (
                f"{since}欠缴税款{tax.arrears_outstanding:,.0f}元，"
                f"达到阈值{self.min_arrears_cny:,.0f}元"
            )
            lines.append(fact)
            evidence.append(
                Evidence(
                    event_id=tax.arrears_event_id or event.id,
                    source=tax.arrears_source or event.source,
                    type="tax.arrears",
                    time=tax.arrears_time,
                    fact=fact,
                )
            )
        if tax.credit_rating in self.ratings and tax.credit_time:
            fact = f"{tax.credit_year}年度纳税信用等级为{tax.credit_rating}级"
            lines.append(fact)
            evidence.append(
                Evidence(
                    event_id=tax.credit_event_id or event.id,
                    source=tax.credit_source or event.source,
                    type="tax.credit_rated",
                    time=tax.credit_time,
                    fact=fact,
                )
            )
        if not lines:
            return ()
        name = ent.name or ent.uscc
        return (
            self.hit(
                subject_kind="enterprise",
                subject_id=ent.uscc,
                enterprises=[ent.uscc],
                title=f"{name}：欠税或纳税信用D级",
                explanation=f"企业{name}（{ent.uscc}）" + "；".join(lines) + "。",
                evidence=evidence,
            ),
        )
