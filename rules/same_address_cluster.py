"""``same_address_cluster``: N or more live enterprises share one normalised registered
address and at least M of them registered within D days of the newest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rules.base import Facts, Hit, Need, Rule, evidence_of
from streams.alert import Severity
from streams.event import Event

DEFAULTS = {"min_enterprises": 5, "min_recent": 3, "recent_days": 180}


class SameAddressCluster(Rule):
    rule_id = "same_address_cluster"
    version = 1
    severity = Severity.HIGH
    inputs: ClassVar[frozenset[str]] = frozenset({"enterprise.registered", "enterprise.changed"})
    needs: ClassVar[frozenset[Need]] = frozenset({Need.ADDRESS_HUB})

    def __init__(
        self,
        min_enterprises: int = DEFAULTS["min_enterprises"],
        min_recent: int = DEFAULTS["min_recent"],
        recent_days: int = DEFAULTS["recent_days"],
    ) -> None:
        super().__init__(
            min_enterprises=min_enterprises, min_recent=min_recent, recent_days=recent_days
        )
        self.min_enterprises, self.min_recent, self.recent_days = (
            min_enterprises,
            min_recent,
            recent_days,
        )

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Hit]:
        if event.type == "enterprise.changed" and getattr(event.data, "field", None) != (
            "address_registered"
        ):
            return ()
        hub = facts.address_hub()
        if hub is None or hub.size < self.min_enterprises or not hub.members:
            return ()
        newest = max(score for _, score in hub.members)
        # "Within D days" includes both ends; members are scored by registration day.
        recent = [
            uscc for uscc, score in hub.members if score > 0 and newest - score <= self.recent_days
        ]
        if len(recent) < self.min_recent:
            return ()
        address = facts.enterprise.address_registered or facts.enterprise.address_norm or ""
        members = [uscc for uscc, _ in hub.members]
        fact = (
            f"地址“{address}”（规范化为“{hub.index.removeprefix('addr:')}”）登记有{hub.size}家未注销企业，"
            f"其中{len(recent)}家在最新一家登记前{self.recent_days}天内登记"
        )
        return (
            self.hit(
                subject_kind="address",
                subject_id=hub.index.removeprefix("addr:"),
                enterprises=members,
                enterprises_total=hub.size,
                title=f"同一地址聚集{hub.size}家企业",
                explanation=(
                    f"{fact}（阈值：{self.min_enterprises}家，其中{self.min_recent}家"
                    f"在{self.recent_days}天内）。涉及企业：{'、'.join(members[:50])}"
                    f"{'等' if hub.size > 50 else ''}。"
                ),
                evidence=[evidence_of(event, fact)],
            ),
        )
