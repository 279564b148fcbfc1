"""``multi_department_attention``: 2 departments within 30 days (severity info)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from rules.base import Hit, Verdict
from rules.examples import Raw
from rules.multi_department_attention import MultiDepartmentAttention
from streams.alert import Severity

from .example_kit import example_kit

RULE = MultiDepartmentAttention()


def run(records: Sequence[tuple[str, str, int]]) -> list[Sequence[Verdict]]:
    """Feed ``(kind, department, day)`` records in that arrival order; each one's verdicts."""
    kit = example_kit()
    uscc = kit.f.uscc()
    kit.feed(kit.registered(uscc, day=-500))

    def raw(kind: str, dept: str, day: int) -> Raw:
        if kind == "inspection":
            return kit.f.inspection(uscc, department=dept, time=kit.day(day))
        if kind == "penalty":
            return kit.penalty(uscc, dept, day=day)
        return kit.contact_failed(uscc, dept, day=day)

    return [RULE.evaluate(*kit.case(raw(*r))) for r in records]


@pytest.mark.parametrize(
    ("records", "fires"),
    [
        ((("inspection", "samr", 0), ("penalty", "tax", 30)), True),
        ((("inspection", "samr", 0), ("penalty", "tax", 31)), False),
        ((("inspection", "samr", 0), ("contact", "police", 12)), True),
        ((("inspection", "samr", 0), ("penalty", "samr", 1)), False),  # one department
    ],
)
def test_the_window_edges(records: Sequence[tuple[str, str, int]], fires: bool) -> None:
    assert bool(run(records)[-1]) is fires


def test_a_late_record_fires_and_names_every_department() -> None:
    verdicts = run([("inspection", "samr", 40), ("penalty", "tax", 100), ("contact", "police", 20)])
    assert [bool(v) for v in verdicts] == [False, False, True]
    [hit] = verdicts[-1]
    assert isinstance(hit, Hit)
    assert hit.severity is Severity.INFO
    assert "2个部门（police、samr）" in hit.explanation
    assert {ev.type for ev in hit.evidence} == {"contact.failed", "inspection.recorded"}


def test_the_window_with_most_departments_wins_not_the_one_with_most_records() -> None:
    """Day 30 is in [0, 30] (four samr records and tax: 2 departments) and in [30, 60]
    (tax, police, court: 3 departments); the latter is reported."""
    samr = [("inspection", "samr", d) for d in range(4)]
    verdicts = run(
        [*samr, ("contact", "police", 33), ("penalty", "court", 40), ("penalty", "tax", 30)]
    )
    [hit] = verdicts[-1]
    assert isinstance(hit, Hit)
    assert "3个部门（tax、police、court）" in hit.explanation
    assert len(hit.evidence) == 3
