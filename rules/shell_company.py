"""``shell_company``: registered within the last D days (relative to the event's time),
paid-in capital 0, and at least N indicators, each another rule's predicate with that
rule's configured thresholds (``peers``): a ``same_address_cluster`` address, a
``frequent_shareholder_change`` (any window), ``unreachable_contact``, an abnormal-operations
listing (of any reason: an unreachable-address listing is two), a legal representative who
fires ``person_many_companies``. A removal or a change that ends it clears the alert.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final

from rules.base import Facts, Need, Rule, Verdict, evidence_of
from rules.examples import Example, Kit
from rules.shell_indicators import PEER_DEFAULTS, indicators
from rules.windows import business_day, touch_evidence
from streams.alert import Severity
from streams.event import Event

MAX_AGE_DAYS: Final = 365
MAX_CAPITAL_PAID: Final = 0.0
MIN_INDICATORS: Final = 2
DEFAULTS = {
    "max_age_days": MAX_AGE_DAYS,
    "max_capital_paid": MAX_CAPITAL_PAID,
    "min_indicators": MIN_INDICATORS,
}
FIELDS = ("shareholders", "capital_paid", "legal_rep", "address_registered")


class ShellCompany(Rule):
    rule_id = "shell_company"
    version = 1
    severity = Severity.CRITICAL
    inputs: ClassVar[frozenset[str]] = frozenset(
        {
            "enterprise.registered",
            "enterprise.changed",
            "enterprise.abnormal_listed",
            "enterprise.abnormal_removed",
            "contact.failed",
        }
    )
    needs: ClassVar[frozenset[Need]] = frozenset({Need.ADDRESS_HUB, Need.PERSON_HUBS})
    peer_rules: ClassVar[tuple[str, ...]] = tuple(PEER_DEFAULTS)

    def __init__(
        self,
        max_age_days: int = MAX_AGE_DAYS,
        max_capital_paid: float = MAX_CAPITAL_PAID,
        min_indicators: int = MIN_INDICATORS,
        *,
        peers: Mapping[str, Mapping[str, Any]] = PEER_DEFAULTS,
    ) -> None:
        super().__init__(
            max_age_days=max_age_days,
            max_capital_paid=max_capital_paid,
            min_indicators=min_indicators,
        )
        self.max_age_days, self.max_capital_paid = max_age_days, max_capital_paid
        self.min_indicators = min_indicators
        self.peers = {rid: dict(peers.get(rid, PEER_DEFAULTS[rid])) for rid in PEER_DEFAULTS}

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Verdict]:
        if event.type == "enterprise.changed" and getattr(event.data, "field", None) not in FIELDS:
            return ()
        ent = facts.enterprise
        found = indicators(facts, self.peers)
        paid = ent.capital_paid
        unpaid = paid is not None and paid <= self.max_capital_paid
        holds = unpaid and len(found) >= self.min_indicators
        if not holds or event.type == "enterprise.abnormal_removed":
            if holds or event.type not in ("enterprise.abnormal_removed", "enterprise.changed"):
                return ()  # a removal never fires; only a removal or a change clears
            reason = (
                f"实缴资本已变更为{paid:,.0f}元"
                if not unpaid and paid is not None
                else f"空壳企业特征仅余{len(found)}项，低于阈值{self.min_indicators}项"
            )
            return (self.clear(subject_kind="enterprise", subject_id=ent.uscc, reason=reason),)
        if ent.registered_on is None:
            return ()
        age = (business_day(event.time) - ent.registered_on).days
        if age > self.max_age_days:
            return ()
        name = ent.name or ent.uscc
        behind = [
            touch_evidence(t, event, etype, text)
            for text, touches, etype in found
            for t in touches
            if t.event_id != event.id
        ]
        fact = (
            f"成立于{ent.registered_on}（距本事件{age}天），实缴资本{paid:,.0f}元，"
            f"具有{len(found)}项空壳特征"
        )
        return (
            self.hit(
                subject_kind="enterprise",
                subject_id=ent.uscc,
                enterprises=[ent.uscc],
                title=f"{name}：疑似空壳企业（{len(found)}项特征）",
                explanation=(
                    f"企业{name}（{ent.uscc}）{fact}：{'；'.join(text for text, _, _ in found)}。"
                    f"阈值：成立{self.max_age_days}天内、"
                    f"实缴资本不超过{self.max_capital_paid:,.0f}元、至少{self.min_indicators}项特征。"
                ),
                evidence=[evidence_of(event, fact), *behind],
            ),
        )

    @classmethod
    def example(cls) -> Example:
        """A company with no paid-in capital, listed for an unreachable address on day 100."""
        return _listed_on(100)

    @classmethod
    def counter_example(cls) -> Example:
        """The same, but listed on day 366."""
        return _listed_on(366)


def _listed_on(day: int) -> Example:
    kit = Kit()
    uscc = kit.f.uscc()
    return kit.case(kit.registered(uscc, capital_paid=0.0), kit.abnormal_listed(uscc, day=day))
