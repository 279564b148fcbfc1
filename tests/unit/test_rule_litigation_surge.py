"""``litigation_surge``: 3 filings as defendant or executed person within 30 days."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from rules.base import Hit, Verdict
from rules.litigation_surge import LitigationSurge
from rules.params import LitigationSurgeParams

from .example_kit import example_kit

RULE = LitigationSurge()


def run(
    filings: Sequence[tuple[int, str]], rule: LitigationSurge = RULE
) -> list[Sequence[Verdict]]:
    """Feed filings ``(day, role)`` in that arrival order; the verdicts of each."""
    kit = example_kit()
    uscc = kit.f.uscc()
    kit.feed(kit.registered(uscc, day=-500))
    return [
        rule.evaluate(*kit.case(kit.f.case_filed(uscc, role=role, time=kit.day(d))))
        for d, role in filings
    ]


D, X, P = "defendant", "executed_person", "plaintiff"


@pytest.mark.parametrize(
    ("filings", "fires"),
    [
        (((0, D), (15, D), (30, D)), True),  # exactly 30 days apart
        (((0, D), (15, D), (31, D)), False),
        (((0, D), (15, X), (30, D)), True),  # executed person counts too
        (((0, D), (15, P), (30, D)), False),  # a plaintiff's case does not
        (((0, D), (15, "third_party"), (30, D)), False),
    ],
)
def test_the_window_edges_and_roles(filings: Sequence[tuple[int, str]], fires: bool) -> None:
    assert bool(run(filings)[-1]) is fires


def test_a_late_filing_completes_the_surge() -> None:
    verdicts = run(((30, D), (200, D), (0, D), (10, D)))
    assert [bool(v) for v in verdicts] == [False, False, False, True]
    [hit] = verdicts[-1]
    assert isinstance(hit, Hit)
    assert "被立案3件" in hit.explanation
    assert "2026-03-02至2026-04-01" in hit.explanation
    assert hit.evidence[0].type == "case.filed"


def test_a_plaintiff_filing_itself_never_fires() -> None:
    assert not run(((0, D), (1, D), (2, D), (3, P)))[-1]


def test_the_thresholds_are_configurable() -> None:
    week = LitigationSurge(LitigationSurgeParams(min_cases=2, window_days=7))
    assert run(((0, D), (7, D)), week)[-1]
    assert not run(((0, D), (8, D)), week)[-1]
    plaintiff = LitigationSurge(LitigationSurgeParams(roles=("plaintiff",)))
    assert run(((0, P), (1, P), (2, P)), plaintiff)[-1]
