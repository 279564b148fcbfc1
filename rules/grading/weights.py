"""The grading parameters as named data: points per fact, windows, caps and cut-offs.

Load a deployment's values strictly (an unknown key is an error)::

    GradeWeights.model_validate({"abnormal_listing": 25.0, "cutoffs": {"c": 55.0}})

The defaults are calibrated so that an enterprise with nothing adverse and steady
contributions grades ``A``, typical single issues ``B`` or ``C``, and a dishonest legal
representative with arrears and an abnormal listing ``D`` whatever its contributions
(the contributions' cap keeps them from buying a better grade).
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, model_validator

from streams.grade import Letter

Tiers = tuple[tuple[float, float], ...]  # (at least this amount, points), largest first


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Cutoffs(_Strict):
    """Upper bounds (exclusive) of the scores of ``A``, ``B`` and ``C``; the rest is ``D``.

    >>> [DEFAULT_CUTOFFS.letter(s) for s in (0, 19.9, 20, 39.9, 59.9, 60, 100)]
    ['A', 'A', 'B', 'B', 'C', 'D', 'D']
    """

    a: float = 20.0
    b: float = 40.0
    c: float = 60.0

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.a <= self.b <= self.c:
            raise ValueError(f"cut-offs must rise: a={self.a} b={self.b} c={self.c}")
        return self

    def letter(self, score: float) -> Letter:
        if score < self.a:
            return "A"
        if score < self.b:
            return "B"
        return "C" if score < self.c else "D"


DEFAULT_CUTOFFS = Cutoffs()


def tier_points(tiers: Tiers, amount: float) -> float:
    """Points of the first tier whose threshold ``amount`` reaches, else 0.

    >>> tier_points(((100.0, -6.0), (1.0, -3.0)), 50.0), tier_points(((1.0, -3.0),), 0.0)
    (-3.0, 0.0)
    """
    return next((points for least, points in tiers if amount >= least), 0.0)


class GradeWeights(_Strict):
    """Points per fact (positive = riskier), the windows they count in, and caps."""

    base: float = 25.0  # an enterprise with no facts at all grades B

    # administrative penalties
    penalty_imposed: float = 8.0  # each penalty.imposed in the window
    penalty_max: float = 24.0
    penalty_window_days: int = 365
    tax_penalty: float = 6.0  # each tax.penalty (the profile keeps a total, undated)
    tax_penalty_max: float = 18.0

    # adverse behaviour
    case_defendant: float = 4.0  # each open case as defendant filed in the window
    case_executed: float = 8.0  # each open case as executed person filed in the window
    cases_max: float = 20.0  # per role
    case_window_days: int = 365
    enterprise_dishonest: float = 30.0
    legal_rep_dishonest: float = 30.0
    officer_dishonest: float = 15.0
    legal_rep_criminal: float = 25.0
    officer_criminal: float = 12.0
    arrears_tiers: Tiers = ((100_000.0, 20.0), (1.0, 10.0))
    abnormal_listing: float = 20.0
    contact_failed: float = 5.0  # each failed contact in the window
    contact_failed_max: float = 15.0
    contact_window_days: int = 180
    rating_c: float = 10.0
    rating_d: float = 20.0

    # contributions (negative points)
    contribution_months: int = 12
    tax_paid_tiers: Tiers = ((1_000_000.0, -10.0), (100_000.0, -6.0), (1.0, -3.0))
    steady_months: int = 10  # tax paid in at least this many of the months
    steady_points: float = -5.0
    employees_tiers: Tiers = ((100.0, -6.0), (10.0, -4.0), (1.0, -2.0))
    rating_a: float = -8.0
    rating_b: float = -4.0
    credit_max: float = 20.0  # contributions never take off more than this

    cutoffs: Cutoffs = DEFAULT_CUTOFFS

    @model_validator(mode="after")
    def _tiers_descend(self) -> Self:
        for name in ("arrears_tiers", "tax_paid_tiers", "employees_tiers"):
            tiers: Tiers = getattr(self, name)
            if list(tiers) != sorted(tiers, key=lambda t: t[0], reverse=True):
                raise ValueError(f"{name} must list the largest threshold first")
        return self


DEFAULT_WEIGHTS = GradeWeights()
