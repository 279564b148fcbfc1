"""The hidden truth that inspections reveal.

Each firm's chance that an inspection confirms a violation is a logistic function of the
facts riskwire can see by then (arrears, an abnormal-operations listing, a dishonest
officer, penalties, failed contacts, open lawsuits, a young firm with no paid-in capital)
plus a little of the firm's hidden tier, which no event states. ``violation_found`` is
drawn from it, so an online model that learns from the profile can rank firms well but
not perfectly.

>>> round(sigmoid(BASE_LOGIT), 3)
0.039
"""

from __future__ import annotations

import math
from datetime import date
from types import MappingProxyType
from typing import Final

from simulate.population import Enterprise

BASE_LOGIT: Final = -3.2
WEIGHTS: Final = MappingProxyType(
    {
        "arrears": 1.5,
        "abnormal_listed": 1.3,
        "dishonest_officer": 1.7,
        "penalty": 0.7,  # each, up to three
        "failed_contact_365d": 0.9,  # each, up to three
        "open_case": 0.4,  # each, up to three
        "young_zero_capital": 1.2,
        "hidden_tier": 0.6,  # per tier step: not observable
    }
)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def features(ent: Enterprise, day: date) -> dict[str, float]:
    """The observable risk facts of ``ent`` on ``day`` (as counts or flags)."""
    ordinal = day.toordinal()
    return {
        "arrears": 1.0 if ent.arrears > 0 else 0.0,
        "abnormal_listed": 1.0 if ent.abnormal else 0.0,
        "dishonest_officer": 1.0 if any(p.listed for p in ent.people()) else 0.0,
        "penalty": float(min(ent.penalties, 3)),
        "failed_contact_365d": float(
            min(sum(1 for d in ent.failed_contacts if ordinal - d <= 365), 3)
        ),
        "open_case": float(min(len(ent.open_cases), 3)),
        "young_zero_capital": 1.0
        if ent.capital_paid == 0 and (day - ent.registered_on).days <= 365
        else 0.0,
    }


def violation_probability(ent: Enterprise, day: date) -> float:
    logit = BASE_LOGIT + WEIGHTS["hidden_tier"] * int(ent.tier)
    for name, value in features(ent, day).items():
        logit += WEIGHTS[name] * value
    return sigmoid(logit)
