"""Enterprise credit grades ``A``-``D`` from three dimensions, as the seed platform did:
administrative penalties, adverse behaviour and contributions (行政处罚、不良行为、贡献).

``score = clamp(base + Σ factor points, 0, 100)``, higher is riskier, and the letter comes
from the cut-offs. Pure and deterministic: the same profiles and ``at`` give the same
grade, byte for byte.

>>> from datetime import UTC, datetime
>>> from streams.profile import EnterpriseProfile, Tax
>>> at = datetime(2026, 3, 15, tzinfo=UTC)
>>> steady = EnterpriseProfile(
...     uscc="91440300MA5DA1B2XK",
...     tax=Tax(
...         paid_by_period={f"2025-{m:02d}": 40_000.0 for m in range(4, 13)}
...         | {"2026-01": 40_000.0, "2026-02": 40_000.0},
...         insured_employees=35,
...         insured_period="2026-02",
...     ),
... )
>>> g = grade(steady, {}, at)
>>> g.grade, g.score
('A', 10.0)
>>> for f in g.factors:
...     print(f.text_zh)
近12个月纳税合计440,000元 −6.0分
近12个月中11个月有纳税记录 −5.0分
参保职工35人（2026-02） −4.0分
>>> grade(EnterpriseProfile(uscc="91440300MA5DA1B2XK"), {}, at).grade  # nothing known
'B'
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from rules.grading.factors import Found, adverse, contributions, penalties
from rules.grading.weights import DEFAULT_CUTOFFS, DEFAULT_WEIGHTS, Cutoffs, GradeWeights
from streams.grade import (
    LETTERS,
    Dimension,
    Factor,
    FactorCode,
    Grade,
    Letter,
    rank,
    signed_points,
)
from streams.profile import EnterpriseProfile, PersonProfile

__all__ = [
    "DEFAULT_CUTOFFS",
    "DEFAULT_WEIGHTS",
    "LETTERS",
    "Cutoffs",
    "Dimension",
    "Factor",
    "FactorCode",
    "Grade",
    "GradeWeights",
    "Letter",
    "grade",
    "rank",
    "signed_points",
]


def _order(found: Found) -> tuple[float, str, str]:
    factor = found[0]
    return (-abs(factor.points), factor.code.value, factor.text_zh)


def grade(
    enterprise: EnterpriseProfile,
    people: Mapping[str, PersonProfile],
    at: datetime,
    weights: GradeWeights = DEFAULT_WEIGHTS,
    rules_version: str | None = None,
) -> Grade:
    """The grade of ``enterprise`` at the business time ``at`` (timezone-aware).

    ``people`` holds the person profiles of its legal representative and officers, by
    person key; a person missing from it adds nothing.
    """
    if at.tzinfo is None:
        raise ValueError("grade() needs a timezone-aware business time")
    at = at.astimezone(UTC)
    found = [
        f
        for f in (
            penalties(enterprise, at, weights)
            + adverse(enterprise, people, at, weights)
            + contributions(enterprise, at, weights)
        )
        if f[0].points != 0
    ]
    found.sort(key=_order)
    raw = weights.base + sum(f.points for f, _ in found)
    score = round(min(100.0, max(0.0, raw)), 1)
    return Grade(
        score=score,
        grade=weights.cutoffs.letter(score),
        factors=tuple(f for f, _ in found),
        at=at,
        rested_on=tuple(sorted({i for _, ids in found for i in ids})),
        rules_version=rules_version,
    )
