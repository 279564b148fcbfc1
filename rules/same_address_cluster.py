"""``same_address_cluster``: N or more live enterprises share one normalised registered
address and at least M of them registered within D days of the newest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rules.base import Facts, Hit, Need, Rule, Verdict
from rules.examples import Example, Kit
from rules.params import SameAddressClusterParams
from streams.event import Event
from streams.profile_store import Hub

EXAMPLE_ADDRESS = "广东省深圳市南山区桂湾五路１２８号"


def recent_cluster(hub: Hub | None, params: SameAddressClusterParams) -> list[str]:
    """The members of an address hub registered within ``recent_days`` of the newest (both
    ends included), when the hub is a cluster; else ``[]``. Members are scored by
    registration day (0 when unknown)."""
    if hub is None or hub.size < params.min_enterprises or not hub.members:
        return []
    newest, days = max(score for _, score in hub.members), params.recent_days
    recent = [uscc for uscc, score in hub.members if score > 0 and newest - score <= days]
    return recent if len(recent) >= params.min_recent else []


class SameAddressCluster(Rule[SameAddressClusterParams]):
    rule_id = "same_address_cluster"
    version = 1
    inputs: ClassVar[frozenset[str]] = frozenset({"enterprise.registered", "enterprise.changed"})
    needs: ClassVar[frozenset[Need]] = frozenset({Need.ADDRESS_HUB})
    judges: ClassVar[frozenset[str]] = frozenset({"addr"})

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Hit]:
        if event.type == "enterprise.changed" and getattr(event.data, "field", None) != (
            "address_registered"
        ):
            return ()
        hub = facts.address_hub()
        recent = recent_cluster(hub, self.params)
        if hub is None or not recent:
            return ()
        address = facts.enterprise.address_registered or facts.enterprise.address_norm or ""
        return (self._hit(event, hub, address, len(recent)),)

    def reevaluate_hub(self, trigger: Event, hub: Hub) -> Sequence[Verdict]:
        """Cleared when the address is no longer a cluster (a member was deregistered or
        moved away), else its current members (one may have left while it still holds),
        however the facts arrived."""
        p = self.params
        recent = recent_cluster(hub, p)
        address = hub.index.removeprefix("addr:")
        if recent:
            return (self._hit(trigger, hub, address, len(recent), refresh=True),)
        reason = (
            f"该地址现有{hub.size}家未注销企业，不再满足聚集阈值（{p.min_enterprises}家，"
            f"其中{p.min_recent}家在{p.recent_days}天内登记）"
        )
        return (self.clear(subject_kind="address", subject_id=address, reason=reason),)

    def _hit(
        self, event: Event, hub: Hub, address: str, recent: int, *, refresh: bool = False
    ) -> Hit:
        p = self.params
        return self.hub_hit(
            event,
            hub,
            subject_kind="address",
            title=f"同一地址聚集{hub.size}家企业",
            fact=(
                f"地址“{address}”（规范化为“{hub.index.removeprefix('addr:')}”）登记有{hub.size}家未注销企业，"
                f"其中{recent}家在最新一家登记前{p.recent_days}天内登记"
            ),
            threshold=(
                f"（阈值：{p.min_enterprises}家，其中{p.min_recent}家在{p.recent_days}天内）"
            ),
            refresh=refresh,
        )

    @classmethod
    def example(cls, kit: Kit) -> Example:
        """Five companies at one address, the last three registered within 180 days."""
        return _cluster(kit, ages=(900, 800, 150, 20, 0))

    @classmethod
    def counter_example(cls, kit: Kit) -> Example:
        """Five companies at one address, but only the newest registered recently."""
        return _cluster(kit, ages=(2000, 1500, 1000, 500, 0))


def _cluster(kit: Kit, ages: tuple[int, ...]) -> Example:
    raw = [kit.registered(address=EXAMPLE_ADDRESS, day=-age) for age in ages]
    return kit.case(*raw)
