"""``litigation_surge``: N or more ``case.filed`` against the enterprise (as ``defendant``
or ``executed_person``) within D days, by filing time; a late filing still counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from rules.base import Facts, Hit, Rule, evidence_of
from rules.examples import Example, Kit
from rules.params import LitigationSurgeParams
from rules.windows import business_day, densest, span
from streams.event import Event
from streams.profile import CaseRecord, EnterpriseProfile

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


class LitigationSurge(Rule[LitigationSurgeParams]):
    rule_id = "litigation_surge"
    version = 1
    inputs: ClassVar[frozenset[str]] = frozenset({"case.filed"})

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Hit]:
        p = self.params
        if getattr(event.data, "role", None) not in p.roles:
            return ()
        ent = facts.enterprise
        surge = case_surge(ent, p.min_cases, p.window_days, p.roles, around=event.time)
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
                title=f"{name}：{p.window_days}天内涉诉{len(surge)}件",
                explanation=(
                    f"企业{name}（{ent.uscc}）{fact}，达到阈值（{p.window_days}天内"
                    f"{p.min_cases}件）：{cases}。"
                ),
                evidence=[
                    evidence_of(event, f"{fact}，本案案号{getattr(event.data, 'case_no', '')}")
                ],
            ),
        )

    @classmethod
    def example(cls, kit: Kit) -> Example:
        """Filings as defendant on days 30 and 0, then a late one on day 15 as executed person."""
        uscc = kit.f.uscc()
        return kit.case(
            kit.registered(uscc, day=-400),
            kit.f.case_filed(uscc, time=kit.day(30)),
            kit.f.case_filed(uscc, time=kit.day(0)),
            kit.f.case_filed(uscc, role="executed_person", time=kit.day(15)),
        )

    @classmethod
    def counter_example(cls, kit: Kit) -> Example:
        """Two filings as defendant and one as plaintiff within 30 days."""
        uscc = kit.f.uscc()
        return kit.case(
            kit.registered(uscc, day=-400),
            kit.f.case_filed(uscc, time=kit.day(0)),
            kit.f.case_filed(uscc, role="plaintiff", time=kit.day(10)),
            kit.f.case_filed(uscc, time=kit.day(20)),
        )
