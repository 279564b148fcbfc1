"""``frequent_shareholder_change``: N or more shareholder changes of one enterprise within
D days (both ends included, by event time; a change that arrives late still counts)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from rules.base import Facts, Hit, Rule
from rules.examples import Example, Kit
from rules.params import FrequentShareholderChangeParams
from rules.windows import business_day, densest, span, touch_evidence
from streams.event import Event
from streams.profile import EnterpriseProfile, Touch


def change_burst(
    ent: EnterpriseProfile, min_changes: int, window_days: int, around: datetime | None = None
) -> list[Touch]:
    """The densest run of shareholder changes within ``window_days`` (one containing
    ``around``, when given), or ``[]`` when it holds fewer than ``min_changes``."""
    window = densest(ent.shareholder_changes, window_days, key=lambda t: t.time, around=around)
    return window if len(window) >= min_changes else []


class FrequentShareholderChange(Rule[FrequentShareholderChangeParams]):
    rule_id = "frequent_shareholder_change"
    version = 1
    inputs: ClassVar[frozenset[str]] = frozenset({"enterprise.changed"})

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Hit]:
        if getattr(event.data, "field", None) != "shareholders":
            return ()
        ent, p = facts.enterprise, self.params
        burst = change_burst(ent, p.min_changes, p.window_days, around=event.time)
        if not burst:
            return ()
        name = ent.name or ent.uscc
        when = span(burst, lambda t: t.time)
        return (
            self.hit(
                subject_kind="enterprise",
                subject_id=ent.uscc,
                enterprises=[ent.uscc],
                title=f"{name}：{p.window_days}天内股东变更{len(burst)}次",
                explanation=(
                    f"企业{name}（{ent.uscc}）在{when}期间变更股东{len(burst)}次，"
                    f"达到阈值（{p.window_days}天内{p.min_changes}次）。"
                ),
                evidence=[
                    touch_evidence(
                        t, event, "enterprise.changed", f"{business_day(t.time)}变更股东"
                    )
                    for t in burst
                ],
            ),
        )

    @classmethod
    def example(cls, kit: Kit) -> Example:
        """Three changes on days 0, 90 and 45 (the last one arrives late)."""
        return _changes(kit, 0, 90, 45)

    @classmethod
    def counter_example(cls, kit: Kit) -> Example:
        """Three changes, but the first and the last are 91 days apart."""
        return _changes(kit, 0, 91, 45)


def _changes(kit: Kit, *days: int) -> Example:
    uscc = kit.f.uscc()
    raw = [kit.shareholders_changed(uscc, day=d) for d in days]
    return kit.case(kit.registered(uscc, day=-400), *raw)
