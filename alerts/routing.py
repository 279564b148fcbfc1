"""Which departments an alert goes to. ``DEFAULT_ROUTE`` sends each rule to the
departments responsible for it; ``qianhai-authority`` sees everything."""

from __future__ import annotations

from typing import Final

OVERSIGHT_DEPARTMENT: Final = "qianhai-authority"

DEFAULT_ROUTE: Final[dict[str, tuple[str, ...]]] = {
    "same_address_cluster": ("samr",),
    "frequent_shareholder_change": ("samr",),
    "person_many_companies": ("samr", "police"),
    "dishonest_officer": ("samr", "court"),
    "abnormal_officer_age": ("samr",),
    "unreachable_contact": ("samr",),
    "shell_company": ("samr", "police", "enforcement-bureau"),
    "litigation_surge": ("court", "drc"),
    "tax_arrears": ("tax",),
    "grade_downgrade": ("samr", "drc"),
    "multi_department_attention": ("samr", "tax", "enforcement-bureau"),
    "early_warning": ("samr", "enforcement-bureau"),
}


def departments_for(rule_id: str, route: dict[str, tuple[str, ...]] = DEFAULT_ROUTE) -> list[str]:
    """The departments a rule's alerts are routed to, oversight included.

    >>> departments_for("tax_arrears")
    ['tax', 'qianhai-authority']
    """
    owners = list(route.get(rule_id, ()))
    if OVERSIGHT_DEPARTMENT not in owners:
        owners.append(OVERSIGHT_DEPARTMENT)
    return owners
