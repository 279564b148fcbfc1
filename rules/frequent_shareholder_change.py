"""``frequent_shareholder_change``: N or more shareholder changes of one enterprise within
D days (both ends included, by event time; a change that arrives late still counts)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from rules.base import Facts, Hit, Rule
from rules.examples import Example, Kit
from rules.windows import business_day, densest, span, touch_evidence
from streams.event import Event
from streams.profile import EnterpriseProfile, Touch

DEFAULTS = {"min_changes": 3, "window_days": 90}


def change_burst(
    ent: EnterpriseProfile, min_changes: int, window_days: int, around: datetime | None = None
) -> list[Touch]:
    """The densest run of shareholder changes within ``window_days`` (one containing
    ``around``, when given), or ``[]`` when it holds fewer than ``min_changes``."""
    window = densest(ent.shareholder_changes, window_days, key=lambda t: t.time, around=around)
    return window if len(window) >= min_changes else []


class FrequentShareholderChange(Rule):
    rule_id = "frequent_shareholder_change"
    version = 1
    inputs: ClassVar[frozenset[str]] = frozenset({"enterprise.changed"})

    def __init__(
        self,
        min_changes: int = DEFAULTS["min_changes"],
        window_days: int = DEFAULTS["window_days"],
    ) -> None:
        super().__init__(min_changes=min_changes, window_days=window_days)
        self.min_changes, self.window_days = min_changes, window_days

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Hit]:
        if getattr(event.data, "field", None) != "shareholders":
            return ()
        ent = facts.enterprise
        burst = change_burst(ent, self.min_changes, self.window_days, around=event.time)
        if not burst:
            return ()
        name = ent.name or ent.uscc
        when = span(burst, lambda t: t.time)
        return (
            self.hit(
                subject_kind="enterprise",
                subject_id=ent.uscc,
                enterprises=[ent.uscc],
                title=f"{name}：{self.window_days}天内股东变更{len(burst)}次",
                explanation=(
                    f"企业{name}（{ent.uscc}）在{when}期间变更股东{len(burst)}次，"
                    f"达到阈值（{self.window_days}天内{self.min_changes}次）。"
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
    def example(cls) -> Example:
        """Three changes on days 0, 90 and 45 (the last one arrives late)."""
        return _changes(0, 90, 45)

    @classmethod
    def counter_example(cls) -> Example:
        """Three changes, but the first and the last are 91 days apart."""
        return _changes(0, 91, 45)


def _changes(*days: int) -> Example:
    kit = Kit()
    uscc = kit.f.uscc()
    raw = [kit.shareholders_changed(uscc, day=d) for d in days]
    return kit.case(kit.registered(uscc, day=-400), *raw)
