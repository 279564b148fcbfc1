"""The range each rule threshold may take, checked wherever thresholds are set (the rules
file and the live overrides of ``PUT /api/v1/rules/{rule_id}``).

A rule applies to every department, so a threshold outside its range would silence the
rule for all of them (``min_enterprises = 1000000``) or flood every board
(``min_probability = 0``). A number has an inclusive ``[low, high]``; an array has the
values it may hold, at least one of them and none twice.

>>> check_bound("tax_arrears", "min_arrears_cny", 50_000.0)
''
>>> check_bound("early_warning", "min_probability", 1.5)
'must be between 0.05 and 1'
>>> check_bound("tax_arrears", "ratings", ("D", "Z"))
'may hold only A, B, C, D, M'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Span:
    """An inclusive range for a number."""

    low: float
    high: float


@dataclass(frozen=True, slots=True)
class OneOf:
    """The values an array may hold (non-empty, no repeats)."""

    allowed: frozenset[str]


Bound = Span | OneOf

DAYS: Final = Span(1, 3650)  # a window of one day to ten years
GRADES: Final = OneOf(frozenset("ABCD"))

RULE_BOUNDS: Final[Mapping[str, Mapping[str, Bound]]] = {
    "same_address_cluster": {
        "min_enterprises": Span(2, 10_000),
        "min_recent": Span(1, 10_000),
        "recent_days": DAYS,
    },
    "frequent_shareholder_change": {"min_changes": Span(2, 1000), "window_days": DAYS},
    "person_many_companies": {"min_enterprises": Span(2, 10_000)},
    "dishonest_officer": {},
    "abnormal_officer_age": {"min_age": Span(0, 30), "max_age": Span(50, 120)},
    "unreachable_contact": {"min_failures": Span(1, 100), "window_days": DAYS},
    "shell_company": {
        "max_age_days": DAYS,
        "max_capital_paid": Span(0, 1e9),
        "min_indicators": Span(1, 4),
    },
    "litigation_surge": {
        "min_cases": Span(2, 10_000),
        "window_days": DAYS,
        "roles": OneOf(frozenset({"defendant", "plaintiff", "third_party", "executed_person"})),
    },
    "tax_arrears": {
        "min_arrears_cny": Span(1_000, 1e10),
        "ratings": OneOf(frozenset({"A", "B", "M", "C", "D"})),
    },
    "grade_downgrade": {"grades": GRADES},
    "multi_department_attention": {"min_departments": Span(2, 64), "window_days": DAYS},
    "early_warning": {
        "min_probability": Span(0.05, 1.0),
        "min_learned": Span(10, 10_000_000),
        "top_factors": Span(1, 10),
    },
}


def check_bound(rule_id: str, key: str, value: object) -> str:
    """``""`` when ``value`` (already of the default's type) is within the key's range,
    else the problem; a key without a declared range is refused (every threshold has one)."""
    bound = RULE_BOUNDS.get(rule_id, {}).get(key)
    if bound is None:
        return "has no declared range (rules/bounds.py)"
    if isinstance(bound, Span):
        if isinstance(value, int | float) and bound.low <= value <= bound.high:
            return ""
        return f"must be between {_num(bound.low)} and {_num(bound.high)}"
    items = list(value) if isinstance(value, list | tuple) else []
    if not items:
        return "must hold at least one value"
    if len(set(items)) != len(items):
        return "must not hold a value twice"
    if not set(items) <= bound.allowed:
        return f"may hold only {', '.join(sorted(bound.allowed))}"
    return ""


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and value >= 1 else str(value)
