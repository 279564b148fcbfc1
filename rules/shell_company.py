"""``shell_company``: registered within the last D days (relative to the event's time),
paid-in capital 0, and at least N indicators, each another rule's predicate with that
rule's configured thresholds (``peers``): a ``same_address_cluster`` address, a
``frequent_shareholder_change`` (any window), ``unreachable_contact``, an abnormal-operations
listing (of any reason: an unreachable-address listing is two), a legal representative who
fires ``person_many_companies``. A removal or a change that ends it clears the alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar, Self

from rules.base import Clear, Facts, Need, ParamsSource, Rule, Shared, Verdict, evidence_of
from rules.examples import Example, Kit
from rules.params import ShellCompanyParams
from rules.shell_indicators import Indicator, Peers, as_of, indicators
from rules.windows import business_day, touch_evidence
from streams.event import Event
from streams.profile import EnterpriseProfile

FIELDS = ("shareholders", "capital_paid", "legal_rep", "address_registered")


class ShellCompany(Rule[ShellCompanyParams]):
    rule_id = "shell_company"
    version = 2
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
    shares: ClassVar[frozenset[Shared]] = frozenset({Shared.ADDRESS, Shared.LEGAL_REP_HUB})

    def __init__(
        self, params: ShellCompanyParams | None = None, *, peers: Peers | None = None
    ) -> None:
        super().__init__(params)
        self.peers = peers or Peers()

    @classmethod
    def configured(cls, config: ParamsSource) -> Self:
        """With its own thresholds and its peers' from ``config``."""
        return cls(config.params_of(cls), peers=Peers.of(config))

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Verdict]:
        if event.type == "enterprise.changed" and getattr(event.data, "field", None) not in FIELDS:
            return ()
        clears = event.type in ("enterprise.abnormal_removed", "enterprise.changed")
        return self._judge(
            event, facts, clears=clears, fires=event.type != "enterprise.abnormal_removed"
        )

    def reevaluate(self, trigger: Event, facts: Facts) -> Sequence[Verdict]:
        """The verdict for ``facts.enterprise`` after another enterprise's ``trigger``
        changed a fact it shares (its address cluster, its legal representative's
        companies); when the rule no longer holds, the open alert is cleared."""
        return self._judge(trigger, facts, clears=True, fires=True)

    def _judge(self, event: Event, facts: Facts, *, clears: bool, fires: bool) -> Sequence[Verdict]:
        """Judged as of the enterprise's latest own shell fact within ``max_age_days`` of
        its registration, from the facts dated up to then: the same verdict whichever of
        its facts, or of the shared ones, arrived first. Only a removal, a change or a
        re-evaluation (``clears``) clears; a removal never fires."""
        ent = facts.enterprise
        at = self._judged_at(ent)
        found = indicators(as_of(facts, at) if at is not None else facts, self.peers)
        if not self._holds(ent, found):
            return (self._clear(ent, found),) if clears else ()
        return self._hit(event, ent, found, at) if fires and at is not None else ()

    def _holds(self, ent: EnterpriseProfile, found: Sequence[Indicator]) -> bool:
        paid = ent.capital_paid
        unpaid = paid is not None and paid <= self.params.max_capital_paid
        return unpaid and len(found) >= self.params.min_indicators

    def _judged_at(self, ent: EnterpriseProfile) -> datetime | None:
        """The latest of the enterprise's own shell facts within ``max_age_days`` of its
        registration (``None`` when none is)."""
        if ent.registered_on is None:
            return None
        times = [t for f, t in ent.field_times.items() if f in FIELDS]
        times += [t.time for t in (*ent.contact_failures, *ent.shareholder_changes)]
        times += [ent.abnormal.since] if ent.abnormal is not None else []
        days = self.params.max_age_days
        young = [t for t in times if (business_day(t) - ent.registered_on).days <= days]
        return max(young, default=None)

    def _clear(self, ent: EnterpriseProfile, found: Sequence[Indicator]) -> Clear:
        paid, p = ent.capital_paid, self.params
        reason = (
            f"实缴资本已变更为{paid:,.0f}元"
            if paid is not None and paid > p.max_capital_paid
            else f"空壳企业特征仅余{len(found)}项，低于阈值{p.min_indicators}项"
        )
        return self.clear(subject_kind="enterprise", subject_id=ent.uscc, reason=reason)

    def _hit(
        self, event: Event, ent: EnterpriseProfile, found: Sequence[Indicator], at: datetime
    ) -> Sequence[Verdict]:
        assert ent.registered_on is not None  # at is None without it
        age = (business_day(at) - ent.registered_on).days
        name, paid, p = ent.name or ent.uscc, ent.capital_paid or 0.0, self.params
        behind = [
            touch_evidence(t, event, etype, text)
            for text, touches, etype in found
            for t in touches
            if t.event_id != event.id
        ]
        fact = (
            f"成立于{ent.registered_on}（至{business_day(at)}成立{age}天），实缴资本{paid:,.0f}元，"
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
                    f"阈值：成立{p.max_age_days}天内、"
                    f"实缴资本不超过{p.max_capital_paid:,.0f}元、至少{p.min_indicators}项特征。"
                ),
                evidence=[evidence_of(event, fact), *behind],
            ),
        )

    @classmethod
    def example(cls, kit: Kit) -> Example:
        """A company with no paid-in capital, listed for an unreachable address on day 100."""
        return _listed_on(kit, 100)

    @classmethod
    def counter_example(cls, kit: Kit) -> Example:
        """The same, but listed on day 366."""
        return _listed_on(kit, 366)


def _listed_on(kit: Kit, day: int) -> Example:
    uscc = kit.f.uscc()
    return kit.case(kit.registered(uscc, capital_paid=0.0), kit.abnormal_listed(uscc, day=day))
