"""``person_many_companies``: one natural person is legal representative or officer of
N or more enterprises that are not deregistered (one alert per person, naming them all)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rules.base import Facts, Hit, Need, Rule, Verdict
from rules.examples import Example, Kit
from rules.params import PersonManyCompaniesParams
from streams.event import Event
from streams.profile_store import Hub


def serves_many(hub: Hub | None, min_enterprises: int) -> bool:
    """Whether a person hub (the live enterprises one person serves) is big enough to fire."""
    return hub is not None and hub.size >= min_enterprises


class PersonManyCompanies(Rule[PersonManyCompaniesParams]):
    rule_id = "person_many_companies"
    version = 1
    inputs: ClassVar[frozenset[str]] = frozenset({"enterprise.registered", "enterprise.changed"})
    needs: ClassVar[frozenset[Need]] = frozenset({Need.PERSON_HUBS})
    judges: ClassVar[frozenset[str]] = frozenset({"person"})

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Hit]:
        if event.type == "enterprise.changed" and getattr(event.data, "field", None) not in (
            "legal_rep",
            "officers",
        ):
            return ()
        hits = []
        for ref in facts.enterprise.people():
            hub = facts.person_hub(ref.key)
            if hub is not None and serves_many(hub, self.params.min_enterprises):
                who = f"{ref.name}（身份证号{ref.masked}）"
                hits.append(self._hit(event, hub, who, f"{ref.name}（{hub.size}家）"))
        return hits

    def reevaluate_hub(self, trigger: Event, hub: Hub) -> Sequence[Verdict]:
        """Cleared when the person serves fewer than ``min_enterprises`` live enterprises
        (one was deregistered or changed its people), else the current members (one may
        have left while the rule still holds), however the facts arrived."""
        if serves_many(hub, self.params.min_enterprises):
            return (self._hit(trigger, hub, "该人员", f"{hub.size}家", refresh=True),)
        reason = (
            f"该人员现担任{hub.size}家未注销企业的法定代表人或高管，"
            f"低于阈值{self.params.min_enterprises}家"
        )
        key = hub.index.removeprefix("person:")
        return (self.clear(subject_kind="person", subject_id=key, reason=reason),)

    def _hit(self, event: Event, hub: Hub, who: str, named: str, *, refresh: bool = False) -> Hit:
        return self.hub_hit(
            event,
            hub,
            subject_kind="person",
            title=f"一人控制多家企业：{named}",
            fact=f"{who}担任{hub.size}家未注销企业的法定代表人或高管",
            threshold=f"，达到阈值{self.params.min_enterprises}家",
            refresh=refresh,
        )

    @classmethod
    def example(cls, kit: Kit) -> Example:
        """One person is the legal representative of five companies."""
        return _fronts(kit, 5)

    @classmethod
    def counter_example(cls, kit: Kit) -> Example:
        """One person is the legal representative of four companies."""
        return _fronts(kit, 4)


def _fronts(kit: Kit, n: int) -> Example:
    front = kit.person()
    return kit.case(*[kit.registered(legal_rep=front, day=i) for i in range(n)])
