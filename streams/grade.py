"""What a grade is: a score, a letter and the factors that made it, largest first.

A :class:`Grade` is frozen and serialises to the same JSON for the same content (factors
sorted, ``at`` in UTC), so the grade store can compare and deduplicate it byte for byte.
"""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime
from typing import Annotated, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

Letter = Literal["A", "B", "C", "D"]
LETTERS: tuple[Letter, ...] = ("A", "B", "C", "D")  # lowest risk first


def rank(letter: Letter) -> int:
    """0 for ``A`` … 3 for ``D``: a larger rank is a worse grade.

    >>> rank("A") < rank("C")
    True
    """
    return LETTERS.index(letter)


class Dimension(enum.StrEnum):
    """The seed platform's three dimensions (行政处罚、不良行为、贡献)."""

    PENALTIES = "penalties"
    ADVERSE = "adverse"
    CONTRIBUTIONS = "contributions"


class FactorCode(enum.StrEnum):
    # penalties
    PENALTY_IMPOSED = "penalty_imposed"
    TAX_PENALTY = "tax_penalty"
    # adverse behaviour
    CASES_DEFENDANT = "cases_defendant"
    CASES_EXECUTED = "cases_executed"
    ENTERPRISE_DISHONEST = "enterprise_dishonest"
    LEGAL_REP_DISHONEST = "legal_rep_dishonest"
    OFFICER_DISHONEST = "officer_dishonest"
    LEGAL_REP_CRIMINAL = "legal_rep_criminal"
    OFFICER_CRIMINAL = "officer_criminal"
    TAX_ARREARS = "tax_arrears"
    ABNORMAL_LISTING = "abnormal_listing"
    CONTACT_FAILED = "contact_failed"
    TAX_RATING_LOW = "tax_rating_low"
    # contributions
    TAX_PAID = "tax_paid"
    TAX_PAID_STEADY = "tax_paid_steady"
    INSURED_EMPLOYEES = "insured_employees"
    TAX_RATING_HIGH = "tax_rating_high"
    CREDIT_CAP = "credit_cap"  # what the contributions' cap takes back


class Factor(BaseModel):
    """One contribution to the score: positive points add risk, negative points take it off.
    ``text_zh`` states the fact with its numbers and the points."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    code: FactorCode
    dimension: Dimension
    points: float
    text_zh: str


def signed_points(points: float) -> str:
    """Points as the texts show them, with a real minus sign.

    >>> signed_points(12), signed_points(-8)
    ('+12.0分', '−8.0分')
    """
    return f"+{points:.1f}分" if points >= 0 else f"−{-points:.1f}分"


class Grade(BaseModel):
    """An enterprise's grade as computed for the business time ``at``.

    ``score`` is 0-100, higher is riskier; ``factors`` are ordered by ``|points|``, largest
    first; ``rested_on`` lists the ids of the events behind the factors, where known;
    ``rules_version`` names the rules (thresholds and grade weights,
    :attr:`rules.config.RulesConfig.version`) it was computed under, where known.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    score: Annotated[float, Field(ge=0.0, le=100.0)]
    grade: Letter
    factors: tuple[Factor, ...] = ()
    at: datetime
    rested_on: tuple[str, ...] = ()
    rules_version: Annotated[str | None, Field(max_length=64)] = None

    def top(self, n: int = 3) -> tuple[Factor, ...]:
        return self.factors[:n]

    def signature(self) -> str:
        """Identity of the content (score, letter, factors), ignoring ``at``,
        ``rested_on`` and ``rules_version``: two grades with one signature say the same
        thing."""
        # Plain tuples, not model_dump(): this runs for every regrade, and dumping each
        # factor to a dict was most of its cost.
        body = orjson.dumps(
            [
                self.score,
                self.grade,
                [(f.code, f.dimension, f.points, f.text_zh) for f in self.factors],
            ]
        )
        return hashlib.blake2b(body, digest_size=12).hexdigest()
