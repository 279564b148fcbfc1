"""``grade_downgrade``: the enterprise's grade falls to ``C`` or ``D`` from a better one.

Reads the grade the pipeline computed for this event (``facts.grade``) and compares it with
the grade the enterprise came in with: the grade from the facts dated *before* its first
fact (its registration, usually). It fires while the letter is in ``grades`` and worse than
that (``C`` to ``D`` falls too, and updates the open alert), and clears the open alert when
that no longer holds. Both grades are functions of the facts, not of the order in which
they arrived, so a firm that registers and falls to ``C`` fires whether its adverse facts
arrive in one batch with the registration, after it, or before it.

A fall is reported once per letter: while the grade stored before this batch
(``facts.previous_grade``) already had the current letter, the hit only re-states the fall
(a ``refresh``): it opens an alert when none is open, and adds to an open one neither the
event as evidence, nor new texts, nor a reopening (as before order independence, when the
rule fired only on the fall itself). Whether an alert is open at the end is the same either
way; without it every later event of a fallen firm rewrote and republished its alert with
one more piece of evidence, and reopened it after an officer had acknowledged it.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import ClassVar

from rules.base import Facts, Need, Rule, Verdict, evidence_of
from rules.examples import Example, Kit
from rules.grading import DEFAULT_WEIGHTS, Grade, grade, rank
from rules.params import GradeDowngradeParams
from streams.event import Event
from streams.profile import EnterpriseProfile
from streams.schemas import EVENT_TYPES

JUST_BEFORE = timedelta(microseconds=1)  # event times carry microseconds at most
FIRST_GRADES_HELD = 1024


class GradeDowngrade(Rule[GradeDowngradeParams]):
    rule_id = "grade_downgrade"
    version = 2
    inputs: ClassVar[frozenset[str]] = frozenset(EVENT_TYPES)  # any event may change a grade
    needs: ClassVar[frozenset[Need]] = frozenset({Need.PEOPLE})  # grades read the people

    def __init__(self, params: GradeDowngradeParams | None = None) -> None:
        super().__init__(params)
        # The grade it came in with, per (enterprise profile, people) objects: a batch
        # judges every event of one enterprise from the same facts, so it is graded once.
        # An entry lives as long as its profile object (a weak reference, whose end drops
        # it): holding the profiles, or the whole facts with the batch's hubs, kept up to
        # FIRST_GRADES_HELD batches' worth alive, and every full garbage collection
        # walked them all.
        self._first: dict[
            tuple[int, int],
            tuple[weakref.ref[EnterpriseProfile], Mapping[str, object], Grade | None],
        ] = {}

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Verdict]:
        """Fires while the grade is in ``grades`` and worse than the grade the enterprise
        came in with; clears when that no longer holds. A late fact gives the verdict it
        would have given in time."""
        now = facts.grade
        if not isinstance(now, Grade):
            return ()  # not graded yet
        ent = facts.enterprise
        if now.grade not in self.params.grades:
            # Always, not only when the grade read before was in grades: another worker
            # may have recorded a newer grade between this one's alert and its grade.
            return (self._clear(ent, f"信用等级回升至{now.grade}"),)
        first = self._first_grade(facts)
        if first is None or rank(now.grade) <= rank(first.grade):
            return (
                self._clear(ent, f"信用等级{now.grade}不低于首次评级{getattr(first, 'grade', '')}"),
            )
        before = facts.previous_grade
        restated = isinstance(before, Grade) and before.grade == now.grade
        name = ent.name or ent.uscc
        fall = f"信用等级由{first.grade}降为{now.grade}（风险分{now.score:.1f}分）"
        reasons = "；".join(f"{i}. {f.text_zh}" for i, f in enumerate(now.top(3), start=1))
        return (
            self.hit(
                subject_kind="enterprise",
                subject_id=ent.uscc,
                enterprises=[ent.uscc],
                title=f"{name}：信用等级降为{now.grade}",
                explanation=f"企业{name}（{ent.uscc}）{fall}。主要因素：{reasons}。",
                evidence=[evidence_of(event, fall)],
                refresh=restated,
            ),
        )

    def _first_grade(self, facts: Facts) -> Grade | None:
        """The grade the enterprise came in with: from the facts dated before its first
        fact. Facts dated at the same instant as the first one (a registration and the
        arrears filed with it) are not part of it: which of them Kafka delivers first
        depends on the topics, so none of them may decide what the grade fell from."""
        key = (id(facts.enterprise), id(facts.people))
        held = self._first.get(key)
        if held is not None and held[0]() is facts.enterprise and held[1] is facts.people:
            return held[2]
        first = facts.enterprise.first_event_time
        weights = facts.weights or DEFAULT_WEIGHTS  # those the current grade was made with
        then = (
            grade(facts.enterprise, facts.people, first - JUST_BEFORE, weights) if first else None
        )
        if len(self._first) >= FIRST_GRADES_HELD:
            self._first.clear()
        gone = partial(self._forget, key)
        self._first[key] = (weakref.ref(facts.enterprise, gone), facts.people, then)
        return then

    def _forget(self, key: tuple[int, int], _: object) -> None:
        self._first.pop(key, None)

    def _clear(self, ent: EnterpriseProfile, reason: str) -> Verdict:
        return self.clear(subject_kind="enterprise", subject_id=ent.uscc, reason=reason)

    # -- the shared rule contract's cases ---------------------------------------------

    @classmethod
    def example(cls, kit: Kit) -> Example:
        """Arrears of 150,000 CNY arrive: the grade falls from ``B`` to ``C``."""
        return _graded_case(kit, 150_000.0)

    @classmethod
    def counter_example(cls, kit: Kit) -> Example:
        """Arrears of 5,000 CNY move the score of a ``B`` enterprise, not its letter."""
        return _graded_case(kit, 5_000.0)


def _graded_case(kit: Kit, arrears: float) -> Example:
    """Facts with the grade before the arrears event and after it, as the pipeline sets."""
    uscc = kit.f.uscc()
    registered, before = kit.case(kit.registered(uscc))
    event, after = kit.case(kit.f.tax_arrears(uscc, arrears, time=kit.day(5)))
    return event, replace(
        after,
        grade=grade(after.enterprise, after.people, event.time),
        previous_grade=grade(before.enterprise, before.people, registered.time),
    )
