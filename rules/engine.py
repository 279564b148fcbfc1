"""The rule engine: which rules an event type reaches, what they need, and their hits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rules.base import Facts, Need, Rule, Verdict
from rules.dishonest_officer import DishonestOfficer
from rules.person_many_companies import PersonManyCompanies
from rules.same_address_cluster import SameAddressCluster
from rules.tax_arrears import TaxArrears
from streams.event import Event


def default_rules() -> list[Rule]:
    return [DishonestOfficer(), PersonManyCompanies(), SameAddressCluster(), TaxArrears()]


class RuleEngine:
    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = list(rules)
        self._by_type: dict[str, list[Rule]] = {}
        for rule in self.rules:
            for etype in rule.inputs:
                self._by_type.setdefault(etype, []).append(rule)

    def rules_for(self, event_type: str) -> Sequence[Rule]:
        return self._by_type.get(event_type, ())

    def needs_for(self, event_type: str) -> frozenset[Need]:
        return frozenset(n for r in self.rules_for(event_type) for n in r.needs)

    def evaluate(self, event: Event, facts: Facts) -> list[Verdict]:
        """Verdicts of every rule that reads ``event.type``; a deregistered enterprise gets none."""
        if not facts.enterprise.active:
            return []
        return [hit for rule in self.rules_for(event.type) for hit in rule.evaluate(event, facts)]
