"""The rules of alerts.md, in its order: one registry of rule ids, each with its severity and
the departments its alerts go to by default, that every layer reads (the rules, the alert
fold and routing, the API, the simulator).

A rule module names its own id (``rule_id``); everything else about the id is said here once.
Adding a rule id is adding its entry here (then its class in ``rules/registry.py``).

>>> RULE_IDS[0], CATALOG["tax_arrears"].severity.value
('same_address_cluster', 'high')
>>> departments_for("tax_arrears")
['tax', 'qianhai-authority']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from streams.alert import Severity

# The department that sees every alert, whatever its rule.
OVERSIGHT_DEPARTMENT: Final = "qianhai-authority"


@dataclass(frozen=True, slots=True)
class RuleEntry:
    """What the contract fixes about a rule id: its severity and its default owners; and
    whether its hit re-states a score after whatever event rescored the enterprise (its
    fresh "evidence" is the score moving, not a new fact, so it never reopens an alert)."""

    severity: Severity
    route: tuple[str, ...]
    rescores: bool = False


CATALOG: Final[Mapping[str, RuleEntry]] = MappingProxyType(
    {
        "same_address_cluster": RuleEntry(Severity.HIGH, ("samr",)),
        "frequent_shareholder_change": RuleEntry(Severity.MEDIUM, ("samr",)),
        "person_many_companies": RuleEntry(Severity.HIGH, ("samr", "police")),
        "dishonest_officer": RuleEntry(Severity.CRITICAL, ("samr", "court")),
        "abnormal_officer_age": RuleEntry(Severity.MEDIUM, ("samr",)),
        "unreachable_contact": RuleEntry(Severity.HIGH, ("samr",)),
        "shell_company": RuleEntry(Severity.CRITICAL, ("samr", "police", "enforcement-bureau")),
        "litigation_surge": RuleEntry(Severity.MEDIUM, ("court", "drc")),
        "tax_arrears": RuleEntry(Severity.HIGH, ("tax",)),
        "grade_downgrade": RuleEntry(Severity.HIGH, ("samr", "drc")),
        "multi_department_attention": RuleEntry(
            Severity.INFO, ("samr", "tax", "enforcement-bureau")
        ),
        "early_warning": RuleEntry(Severity.HIGH, ("samr", "enforcement-bureau"), rescores=True),
    }
)

# The rule ids of alerts.md, in its order: part of the contract, like the alert's shape.
RULE_IDS: Final = tuple(CATALOG)

DEFAULT_ROUTE: Final[dict[str, tuple[str, ...]]] = {r: e.route for r, e in CATALOG.items()}

# Rules whose hits re-state a score (see RuleEntry.rescores).
RESCORING_RULES: Final = frozenset(r for r, e in CATALOG.items() if e.rescores)


def departments_for(rule_id: str, route: dict[str, tuple[str, ...]] = DEFAULT_ROUTE) -> list[str]:
    """The departments a rule's alerts are routed to, oversight included."""
    owners = list(route.get(rule_id, ()))
    if OVERSIGHT_DEPARTMENT not in owners:
        owners.append(OVERSIGHT_DEPARTMENT)
    return owners
