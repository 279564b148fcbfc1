"""``unreachable_contact``: N or more ``contact.failed`` within D days, or an
abnormal-operations listing with ``reason_code`` ``unreachable_address``.

When the listing is removed the open alert is cleared, unless failed contacts alone still
make the rule hold (they happened: a removal does not undo them).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from rules.base import Facts, Rule, Verdict, evidence_of
from rules.examples import Example, Kit
from rules.params import UnreachableContactParams
from rules.windows import business_day, densest, span, touch_evidence
from streams.alert import Evidence
from streams.event import Event
from streams.profile import EnterpriseProfile, Listing, Touch

UNREACHABLE = "unreachable_address"
CHANNEL_ZH = {"phone": "电话", "address": "实地", "mail": "邮寄"}


def failure_burst(
    ent: EnterpriseProfile, min_failures: int, window_days: int, around: datetime | None = None
) -> list[Touch]:
    """The densest run of failed contacts within ``window_days`` (one containing
    ``around``, when given), or ``[]`` when it holds fewer than ``min_failures``."""
    window = densest(ent.contact_failures, window_days, key=lambda t: t.time, around=around)
    return window if len(window) >= min_failures else []


def unreachable_listing(ent: EnterpriseProfile) -> Listing | None:
    """The enterprise's abnormal-operations listing, when it is for an unreachable address."""
    return ent.abnormal if ent.abnormal and ent.abnormal.reason_code == UNREACHABLE else None


def is_unreachable(ent: EnterpriseProfile, min_failures: int, window_days: int) -> bool:
    """Whether the rule holds for ``ent`` at all (any window, or the listing)."""
    return (
        bool(failure_burst(ent, min_failures, window_days)) or unreachable_listing(ent) is not None
    )


def failure_fact(t: Touch) -> str:
    """``2026-03-03 samr实地联系失败``."""
    return f"{business_day(t.time)} {t.department}{CHANNEL_ZH.get(t.kind, '')}联系失败"


class UnreachableContact(Rule[UnreachableContactParams]):
    rule_id = "unreachable_contact"
    version = 1
    inputs: ClassVar[frozenset[str]] = frozenset(
        {"contact.failed", "enterprise.abnormal_listed", "enterprise.abnormal_removed"}
    )

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Verdict]:
        ent, p = facts.enterprise, self.params
        if event.type == "enterprise.abnormal_removed":
            if is_unreachable(ent, p.min_failures, p.window_days):
                return ()
            why = getattr(event.data, "reason", "") or "未说明原因"
            reason = (
                f"经营异常名录（无法联系）已移出：{why}；"
                f"{p.window_days}天内联系失败未达{p.min_failures}次"
            )
            return (self.clear(subject_kind="enterprise", subject_id=ent.uscc, reason=reason),)
        lines: list[str] = []
        evidence: list[Evidence] = []
        if event.type == "contact.failed":
            burst = failure_burst(ent, p.min_failures, p.window_days, around=event.time)
            if burst:
                lines.append(
                    f"{span(burst, lambda t: t.time)}期间联系失败{len(burst)}次"
                    f"（阈值：{p.window_days}天内{p.min_failures}次）"
                )
                evidence += [
                    touch_evidence(t, event, "contact.failed", failure_fact(t)) for t in burst
                ]
        elif (listing := unreachable_listing(ent)) is not None:
            authority = listing.authority or "登记机关"
            day = business_day(listing.since)
            fact = f"{day}因通过登记的住所无法联系被{authority}列入经营异常名录"
            lines.append(fact)
            evidence.append(evidence_of(event, fact))
        if not lines:
            return ()
        name = ent.name or ent.uscc
        return (
            self.hit(
                subject_kind="enterprise",
                subject_id=ent.uscc,
                enterprises=[ent.uscc],
                title=f"{name}：无法联系",
                explanation=f"企业{name}（{ent.uscc}）" + "；".join(lines) + "。",
                evidence=evidence,
            ),
        )

    @classmethod
    def example(cls, kit: Kit) -> Example:
        """Two failed contacts exactly 180 days apart."""
        uscc = kit.f.uscc()
        return kit.case(
            kit.registered(uscc),
            kit.contact_failed(uscc, day=1),
            kit.contact_failed(uscc, "tax", day=181),
        )

    @classmethod
    def counter_example(cls, kit: Kit) -> Example:
        """Two failed contacts 181 days apart, and a listing for a missing annual report."""
        uscc = kit.f.uscc()
        kit.feed(kit.registered(uscc), kit.abnormal_listed(uscc, "annual_report_missing", day=1))
        return kit.case(kit.contact_failed(uscc, day=1), kit.contact_failed(uscc, "tax", day=182))
