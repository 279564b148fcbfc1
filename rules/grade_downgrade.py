"""``grade_downgrade``: the enterprise's grade falls to ``C`` or ``D`` from a better one.

Reads the grade the pipeline computed for this event (``facts.grade``) and the one the
enterprise had before it (``facts.previous_grade``); it fires when the letter falls into
``grades`` (``C`` to ``D`` falls too, and updates the open alert), and clears the open
alert when the letter rises back out of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import ClassVar

from rules.base import Facts, Need, Rule, Verdict, evidence_of
from rules.examples import Example, Kit
from rules.grading import Grade, grade, rank
from streams.alert import Severity
from streams.event import Event
from streams.schemas import EVENT_TYPES

DEFAULTS = {"grades": ("C", "D")}


class GradeDowngrade(Rule):
    rule_id = "grade_downgrade"
    version = 1
    severity = Severity.HIGH
    inputs: ClassVar[frozenset[str]] = frozenset(EVENT_TYPES)  # any event may change a grade
    needs: ClassVar[frozenset[Need]] = frozenset({Need.PEOPLE})  # grades read the people

    def __init__(self, grades: tuple[str, ...] = DEFAULTS["grades"]) -> None:
        super().__init__(grades=grades)
        self.grades = grades

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Verdict]:
        now, before = facts.grade, facts.previous_grade
        if not isinstance(now, Grade) or not isinstance(before, Grade):
            return ()  # not graded yet, or graded for the first time: nothing fell
        ent = facts.enterprise
        if now.grade in self.grades and rank(now.grade) > rank(before.grade):
            name = ent.name or ent.uscc
            fall = f"信用等级由{before.grade}降为{now.grade}（风险分{now.score:.1f}分）"
            reasons = "；".join(f"{i}. {f.text_zh}" for i, f in enumerate(now.top(3), start=1))
            return (
                self.hit(
                    subject_kind="enterprise",
                    subject_id=ent.uscc,
                    enterprises=[ent.uscc],
                    title=f"{name}：信用等级降为{now.grade}",
                    explanation=f"企业{name}（{ent.uscc}）{fall}。主要因素：{reasons}。",
                    evidence=[evidence_of(event, fall)],
                ),
            )
        if before.grade in self.grades and now.grade not in self.grades:
            return (
                self.clear(
                    subject_kind="enterprise",
                    subject_id=ent.uscc,
                    reason=f"信用等级回升至{now.grade}",
                ),
            )
        return ()

    # -- the shared rule contract's cases ---------------------------------------------

    @classmethod
    def example(cls) -> Example:
        """Arrears of 150,000 CNY arrive: the grade falls from ``B`` to ``C``."""
        return _graded_case(150_000.0)

    @classmethod
    def counter_example(cls) -> Example:
        """Arrears of 5,000 CNY move the score of a ``B`` enterprise, not its letter."""
        return _graded_case(5_000.0)


def _graded_case(arrears: float) -> Example:
    """Facts with the grade before the arrears event and after it, as the pipeline sets."""
    kit = Kit()
    uscc = kit.f.uscc()
    registered, before = kit.case(kit.registered(uscc))
    event, after = kit.case(kit.f.tax_arrears(uscc, arrears, time=kit.day(5)))
    return event, replace(
        after,
        grade=grade(after.enterprise, after.people, event.time),
        previous_grade=grade(before.enterprise, before.people, registered.time),
    )
