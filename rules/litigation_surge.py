"""``litigation_surge``: N or more ``case.filed`` against the enterprise (as ``defendant``
or ``executed_person``) within D days, by filing time; a late filing still counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar, Final

from rules.base import Facts, Hit, Rule, evidence_of
from rules.examples import Example, Kit
from rules.windows import business_day, densest, span
from streams.event import Event
from streams.profile import CaseRecord, EnterpriseProfile

MIN_CASES: Final = 3
WINDOW_DAYS: Final = 30
ROLES: Final = ("defendant", "executed_person")
DEFAULTS = {"min_cases": MIN_CASES, "window_days": WINDOW_DAYS, "roles": ROLES}
ROLE_ZH = {"defendant": "被告", "executed_person": "被执行人"}


def case_surge(
    ent: EnterpriseProfile,
    min_cases: int,
    window_days: int,
    roles: Sequence[str],
    around: datetime | None = None,
) -> list[CaseRecord]:
    """The densest run of filings in ``roles`` within ``window_days`` (one containing
    ``around``, when given), or ``[]`` when it holds fewer than ``min_cases``."""
    cases = [c for c in ent.cases.values() if c.role in roles]
    window = densest(cases, window_days, key=lambda c: c.filed_at, around=around)
    return window if len(window) >= min_cases else []


class LitigationSurge(Rule):
    rule_id = "litigation_surge"
    version = 1
    inputs: ClassVar[frozenset[str]] = frozenset({"case.filed"})

    def __init__(
        self,
        min_cases: int = MIN_CASES,
        window_days: int = WINDOW_DAYS,
        roles: Sequence[str] = ROLES,
    ) -> None:
        super().__init__(min_cases=min_cases, window_days=window_days, roles=tuple(roles))
        self.min_cases, self.window_days, self.roles = min_cases, window_days, tuple(roles)

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Hit]:
        if getattr(event.data, "role", None) not in self.roles:
            return ()
        ent = facts.enterprise
        surge = case_surge(ent, self.min_cases, self.window_days, self.roles, around=event.time)
        if not surge:
            return ()
        name = ent.name or ent.uscc
        cases = "、".join(
            f"{c.case_no}（{business_day(c.filed_at)}立案，{ROLE_ZH.get(c.role, c.role)}）"
            for c in surge
        )
        fact = f"{span(surge, lambda c: c.filed_at)}期间作为被告或被执行人被立案{len(surge)}件"
        # Profiles keep each case's filing time but not its event id: the evidence is the
        # filing that completed the surge; the explanation names every case.
        return (
            self.hit(
                subject_kind="enterprise",
                subject_id=ent.uscc,
                enterprises=[ent.uscc],
                title=f"{name}：{self.window_days}天内涉诉{len(surge)}件",
                explanation=(
                    f"企业{name}（{ent.uscc}）{fact}，达到阈值（{self.window_days}天内"
                    f"{self.min_cases}件）：{cases}。"
                ),
                evidence=[
                    evidence_of(event, f"{fact}，本案案号{getattr(event.data, 'case_no', '')}")
                ],
            ),
        )

    @classmethod
    def example(cls) -> Example:
        """Filings as defendant on days 30 and 0, then a late one on day 15 as executed person."""
        kit = Kit()
        uscc = kit.f.uscc()
        return kit.case(
            kit.registered(uscc, day=-400),
            kit.f.case_filed(uscc, time=kit.day(30)),
            kit.f.case_filed(uscc, time=kit.day(0)),
            kit.f.case_filed(uscc, role="executed_person", time=kit.day(15)),
        )

    @classmethod
    def counter_example(cls) -> Example:
        """Two filings as defendant and one as plaintiff within 30 days."""
        kit = Kit()
        uscc = kit.f.uscc()
        return kit.case(
            kit.registered(uscc, day=-400),
            kit.f.case_filed(uscc, time=kit.day(0)),
            kit.f.case_filed(uscc, role="plaintiff", time=kit.day(10)),
            kit.f.case_filed(uscc, time=kit.day(20)),
        )
