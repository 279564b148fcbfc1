"""``abnormal_officer_age``: the legal representative or an officer is younger than 18, or
75 or older, on the day of the event (its business day, see :mod:`rules.windows`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import ClassVar

from rules.base import Facts, Rule, Verdict, evidence_of
from rules.dishonest_officer import who
from rules.examples import Example, Kit
from rules.params import AbnormalOfficerAgeParams
from rules.windows import business_day
from streams.event import Event
from streams.identifiers import age_at
from streams.profile import PersonRef

OFFICER_FIELDS = ("legal_rep", "officers")


def abnormal_ages(
    people: Iterable[PersonRef], on: date, min_age: int, max_age: int
) -> list[tuple[PersonRef, int]]:
    """Each person younger than ``min_age`` or ``max_age`` or older on day ``on``, with the
    age (0 for someone not yet born that day: a registration error, and under age)."""
    out = []
    for ref in people:
        age = age_at(ref.birth_date, on) if on >= ref.birth_date else 0
        if age < min_age or age >= max_age:
            out.append((ref, age))
    return out


class AbnormalOfficerAge(Rule[AbnormalOfficerAgeParams]):
    rule_id = "abnormal_officer_age"
    version = 1
    inputs: ClassVar[frozenset[str]] = frozenset({"enterprise.registered", "enterprise.changed"})

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Verdict]:
        changed = event.type == "enterprise.changed"
        if changed and getattr(event.data, "field", None) not in OFFICER_FIELDS:
            return ()
        ent, p = facts.enterprise, self.params
        day = business_day(event.time)
        found = abnormal_ages(ent.people(), day, p.min_age, p.max_age)
        if not found:
            if not changed:
                return ()
            reason = (
                f"法定代表人或高管已变更，{day}现任人员年龄均在{p.min_age}至{p.max_age - 1}岁之间"
            )
            return (self.clear(subject_kind="enterprise", subject_id=ent.uscc, reason=reason),)
        facts_zh = [
            f"{who(ent, ref)}于{day}年龄为{age}岁（{self._why(age)}）" for ref, age in found
        ]
        name = ent.name or ent.uscc
        return (
            self.hit(
                subject_kind="enterprise",
                subject_id=ent.uscc,
                enterprises=[ent.uscc],
                title=f"{name}：高管年龄异常（{'、'.join(f'{age}岁' for _, age in found)}）",
                explanation=(
                    f"企业{name}（{ent.uscc}）"
                    + "；".join(facts_zh)
                    + f"。阈值：未满{p.min_age}周岁或{p.max_age}周岁及以上。"
                ),
                evidence=[evidence_of(event, "；".join(facts_zh))],
            ),
        )

    def _why(self, age: int) -> str:
        p = self.params
        return f"未满{p.min_age}周岁" if age < p.min_age else f"已满{p.max_age}周岁"

    @classmethod
    def example(cls, kit: Kit) -> Example:
        """A 17-year-old legal representative and a 75-year-old director."""
        return kit.case(
            kit.registered(legal_rep=kit.person(age=17), officers=[kit.person("director", age=75)])
        )

    @classmethod
    def counter_example(cls, kit: Kit) -> Example:
        """An 18-year-old legal representative and a 74-year-old director."""
        return kit.case(
            kit.registered(legal_rep=kit.person(age=18), officers=[kit.person("director", age=74)])
        )
