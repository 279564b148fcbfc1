"""``dishonest_officer``: the legal representative or an officer is on the dishonest judgment
debtor list, or involved in a criminal case, whichever fact arrives first.

When a listing ends (``debtor.removed``) or the people change, the open alert is cleared,
but only once no person of the enterprise is still listed or in a criminal case.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rules.base import Facts, Need, Rule, Verdict, evidence_of
from rules.examples import Example, Kit
from rules.params import DishonestOfficerParams
from streams.alert import Evidence
from streams.event import Event
from streams.profile import EnterpriseProfile, PersonProfile, PersonRef

ROLE_ZH = {
    "legal_rep": "法定代表人",
    "director": "董事",
    "supervisor": "监事",
    "manager": "经理",
    "finance_officer": "财务负责人",
}
REMOVAL_ZH = {"performed": "履行完毕", "credit_repair": "信用修复", "revoked": "撤销"}
TRIGGER_ZH = {
    "enterprise.registered": "企业登记",
    "enterprise.changed": "高管变更",
    "debtor.listed": "列入失信被执行人名单",
    "person.case_involved": "涉刑事案件",
}


def role_zh(role: str | None) -> str:
    return ROLE_ZH.get(role or "", "高管")


def who(ent: EnterpriseProfile, ref: PersonRef) -> str:
    """``法定代表人张三（身份证号4403**********1234）``."""
    return (
        "、".join(role_zh(r) for r in ent.roles_of(ref.key)) + f"{ref.name}（身份证号{ref.masked}）"
    )


class DishonestOfficer(Rule[DishonestOfficerParams]):
    rule_id = "dishonest_officer"
    version = 2
    inputs: ClassVar[frozenset[str]] = frozenset(
        {
            "enterprise.registered",
            "enterprise.changed",
            "debtor.listed",
            "debtor.removed",
            "person.case_involved",
        }
    )
    needs: ClassVar[frozenset[Need]] = frozenset({Need.PEOPLE})

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Verdict]:
        if event.type == "enterprise.changed" and getattr(event.data, "field", None) not in (
            "legal_rep",
            "officers",
        ):
            return ()
        if event.type.startswith("debtor.") and event.subject.kind != "person":
            return ()  # the enterprise's own listing is not about its people
        ent = facts.enterprise
        found = [
            finding
            for ref in ent.people()
            if (person := facts.people.get(ref.key)) is not None
            for finding in findings(who(ent, ref), person)
        ]
        if found and event.type != "debtor.removed":
            name = ent.name or ent.uscc
            return (
                self.hit(
                    subject_kind="enterprise",
                    subject_id=ent.uscc,
                    enterprises=[ent.uscc],
                    title=f"{name}：高管涉失信或刑事案件",
                    explanation=f"企业{name}（{ent.uscc}）"
                    + "；".join(e.fact for e in found)
                    + "。",
                    evidence=[evidence_of(event, TRIGGER_ZH[event.type]), *found],
                ),
            )
        if not found and event.type in ("debtor.removed", "enterprise.changed"):
            return (
                self.clear(
                    subject_kind="enterprise", subject_id=ent.uscc, reason=_reason(event, ent)
                ),
            )
        return ()

    @classmethod
    def example(cls, kit: Kit) -> Example:
        """A listed debtor is appointed legal representative."""
        boss = kit.person()
        kit.feed(kit.f.debtor_listed_person(boss, time=kit.day(0)))
        return kit.case(kit.registered(legal_rep=boss, day=3))

    @classmethod
    def counter_example(cls, kit: Kit) -> Example:
        """A debtor removed from the list (credit repair) is appointed afterwards."""
        boss = kit.person()
        kit.feed(kit.f.debtor_listed_person(boss, time=kit.day(0)))
        kit.feed(kit.debtor_removed(boss, "credit_repair", day=1))
        return kit.case(kit.registered(legal_rep=boss, day=3))


def findings(person_zh: str, person: PersonProfile) -> list[Evidence]:
    """What makes one person dishonest: each listing and criminal case, as evidence whose
    ``fact`` names the person (``person_zh``, see :func:`who`)."""
    out: list[Evidence] = []
    for case in person.debtor_cases.values():
        amount = f"，涉及金额{case.amount:,.0f}元" if case.amount is not None else ""
        fact = f"{person_zh}被列入失信被执行人名单（案号{case.case_no}，{case.court}{amount}）"
        kind, at = "debtor.listed", case.listed_at
        out.append(
            Evidence(event_id=case.event_id, source=case.source, type=kind, time=at, fact=fact)
        )
    for crime in person.criminal_cases.values():
        fact = f"{person_zh}涉及刑事案件（案号{crime.case_no}）"
        kind, at = "person.case_involved", crime.time
        out.append(
            Evidence(event_id=crime.event_id, source=crime.source, type=kind, time=at, fact=fact)
        )
    return out


def _reason(event: Event, ent: EnterpriseProfile) -> str:
    clean = "现任法定代表人及高管均无失信或涉刑事案件记录"
    if event.type == "enterprise.changed":
        return f"法定代表人或高管已变更，{clean}"
    reason = REMOVAL_ZH.get(str(getattr(event.data, "reason", "")), "移出")
    case_no = getattr(event.data, "case_no", "")
    ref = next((r for r in ent.people() if r.key == event.subject.id), None)
    person = f"{who(ent, ref)}，" if ref is not None else ""
    return f"失信被执行人名单已移出（{reason}）：{person}案号{case_no}；{clean}"
