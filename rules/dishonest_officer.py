"""``dishonest_officer``: the legal representative or an officer is on the dishonest judgment
debtor list, or involved in a criminal case, whichever fact arrives first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from processors.profiles.model import PersonProfile, PersonRef
from rules.base import Facts, Hit, Need, Rule, evidence_of
from streams.alert import Evidence, Severity
from streams.event import Event

ROLE_ZH = {
    "legal_rep": "法定代表人",
    "director": "董事",
    "supervisor": "监事",
    "manager": "经理",
    "finance_officer": "财务负责人",
}


def role_zh(role: str | None) -> str:
    return ROLE_ZH.get(role or "", "高管")


class DishonestOfficer(Rule):
    rule_id = "dishonest_officer"
    version = 1
    severity = Severity.CRITICAL
    inputs: ClassVar[frozenset[str]] = frozenset(
        {"enterprise.registered", "enterprise.changed", "debtor.listed", "person.case_involved"}
    )
    needs: ClassVar[frozenset[Need]] = frozenset({Need.PEOPLE})

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Hit]:
        if event.type == "enterprise.changed" and getattr(event.data, "field", None) not in (
            "legal_rep",
            "officers",
        ):
            return ()
        ent = facts.enterprise
        lines: list[str] = []
        evidence: list[Evidence] = [evidence_of(event, self._trigger_fact(event))]
        for ref in ent.people():
            person = facts.people.get(ref.key)
            if person is None:
                continue
            found = self._findings(ref, ent.roles_of(ref.key), person)
            lines += [line for line, _ in found]
            evidence += [ev for _, ev in found]
        if not lines:
            return ()
        name = ent.name or ent.uscc
        return (
            self.hit(
                subject_kind="enterprise",
                subject_id=ent.uscc,
                enterprises=[ent.uscc],
                title=f"{name}：高管涉失信或刑事案件",
                explanation=f"企业{name}（{ent.uscc}）" + "；".join(lines) + "。",
                evidence=evidence,
            ),
        )

    @staticmethod
    def _trigger_fact(event: Event) -> str:
        return {
            "enterprise.registered": "企业登记",
            "enterprise.changed": "高管变更",
            "debtor.listed": "列入失信被执行人名单",
            "person.case_involved": "涉刑事案件",
        }[event.type]

    @staticmethod
    def _findings(
        ref: PersonRef, roles: list[str], person: PersonProfile
    ) -> list[tuple[str, Evidence]]:
        who = "、".join(role_zh(r) for r in roles) + f"{ref.name}（身份证号{ref.masked}）"
        out: list[tuple[str, Evidence]] = []
        for case in person.debtor_cases.values():
            amount = f"，涉及金额{case.amount:,.0f}元" if case.amount is not None else ""
            fact = f"{who}被列入失信被执行人名单（案号{case.case_no}，{case.court}{amount}）"
            out.append(
                (
                    fact,
                    Evidence(
                        event_id=case.event_id,
                        source=case.source,
                        type="debtor.listed",
                        time=case.listed_at,
                        fact=fact,
                    ),
                )
            )
        for crime in person.criminal_cases.values():
            fact = f"{who}涉及刑事案件（案号{crime.case_no}）"
            out.append(
                (
                    fact,
                    Evidence(
                        event_id=crime.event_id,
                        source=crime.source,
                        type="person.case_involved",
                        time=crime.time,
                        fact=fact,
                    ),
                )
            )
        return out
