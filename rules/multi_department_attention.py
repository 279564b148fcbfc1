"""``multi_department_attention``: N or more different departments recorded an inspection,
a penalty or a failed contact of one enterprise within D days, so that they can coordinate
instead of repeating work (severity ``info``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rules.base import Facts, Hit, Rule
from rules.examples import Example, Kit
from rules.params import MultiDepartmentAttentionParams
from rules.windows import business_day, densest, span, touch_evidence
from streams.event import Event
from streams.profile import Touch

KIND_ZH = {"inspection": "检查", "penalty": "行政处罚", "contact_failed": "联系失败"}
TYPE_OF_KIND = {
    "inspection": "inspection.recorded",
    "penalty": "penalty.imposed",
    "contact_failed": "contact.failed",
}


def departments(touches: Sequence[Touch]) -> list[str]:
    """The distinct departments of ``touches``, in order of first appearance."""
    return list(dict.fromkeys(t.department for t in touches if t.department))


class MultiDepartmentAttention(Rule[MultiDepartmentAttentionParams]):
    rule_id = "multi_department_attention"
    version = 1
    inputs: ClassVar[frozenset[str]] = frozenset(
        {"inspection.recorded", "penalty.imposed", "contact.failed"}
    )

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Hit]:
        ent, p = facts.enterprise, self.params
        window = densest(
            ent.attention,
            p.window_days,
            key=lambda t: t.time,
            around=event.time,
            weight=lambda w: len(departments(w)),
        )
        depts = departments(window)
        if len(depts) < p.min_departments:
            return ()
        name = ent.name or ent.uscc
        done = "；".join(
            f"{business_day(t.time)} {t.department}{KIND_ZH.get(t.kind, t.kind)}" for t in window
        )
        return (
            self.hit(
                subject_kind="enterprise",
                subject_id=ent.uscc,
                enterprises=[ent.uscc],
                title=f"{name}：{len(depts)}个部门{p.window_days}天内均有执法记录",
                explanation=(
                    f"企业{name}（{ent.uscc}）在{span(window, lambda t: t.time)}期间有"
                    f"{len(depts)}个部门（{'、'.join(depts)}）记录了检查、处罚或联系失败，"
                    f"达到阈值（{p.window_days}天内{p.min_departments}个部门），"
                    f"请协同处置、避免重复执法：{done}。"
                ),
                evidence=[
                    touch_evidence(
                        t,
                        event,
                        TYPE_OF_KIND.get(t.kind, event.type),
                        f"{business_day(t.time)} {t.department}{KIND_ZH.get(t.kind, t.kind)}",
                    )
                    for t in window
                ],
            ),
        )

    @classmethod
    def example(cls, kit: Kit) -> Example:
        """A samr inspection on day 30, then a late tax penalty dated day 0."""
        uscc = kit.f.uscc()
        return kit.case(
            kit.registered(uscc, day=-400),
            kit.f.inspection(uscc, department="samr", time=kit.day(30)),
            kit.penalty(uscc, "tax", day=0),
        )

    @classmethod
    def counter_example(cls, kit: Kit) -> Example:
        """Two samr records 10 days apart, and a tax failed contact 31 days after them."""
        uscc = kit.f.uscc()
        return kit.case(
            kit.registered(uscc, day=-400),
            kit.f.inspection(uscc, department="samr", time=kit.day(0)),
            kit.penalty(uscc, "samr", day=10),
            kit.contact_failed(uscc, "tax", day=41),
        )
