"""``frequent_shareholder_change``: 3 changes within 90 days, both ends included, by event
time, in whatever order they arrive."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from rules.base import Hit, Verdict
from rules.frequent_shareholder_change import FrequentShareholderChange
from rules.params import FrequentShareholderChangeParams

from .example_kit import example_kit

RULE = FrequentShareholderChange()


def run(days: Sequence[float], rule: FrequentShareholderChange = RULE) -> list[list[Verdict]]:
    """Feed shareholder changes dated ``days`` in that arrival order; the verdicts of each."""
    kit = example_kit()
    uscc = kit.f.uscc()
    kit.feed(kit.registered(uscc, day=-500))
    return [list(rule.evaluate(*kit.case(kit.shareholders_changed(uscc, day=d)))) for d in days]


@pytest.mark.parametrize(
    ("days", "fires"),
    [
        ((0, 45, 90), True),  # exactly 90 days apart: both ends count
        ((0, 45, 91), False),  # 91 days: one too many
        # Day 0 is 17:00 China time: 90.25 days later is 23:00 on day 90, 90.3 days later
        # is past midnight, day 91. Business days count, not hours.
        ((0, 90.25, 45), True),
        ((0, 90.3, 45), False),
    ],
)
def test_the_window_edges(days: Sequence[float], fires: bool) -> None:
    assert bool(run(days)[-1]) is fires


@pytest.mark.parametrize("order", [(90, 0, 45), (45, 90, 0), (0, 90, 45)])
def test_out_of_order_arrival_still_fires_on_the_last_arrival(order: Sequence[float]) -> None:
    verdicts = run(order)
    assert [bool(v) for v in verdicts] == [False, False, True]


def test_a_late_change_completes_an_old_window_not_the_newest() -> None:
    """Changes on days 0 and 30, then 400: nothing. A late one dated day 60 fires: the
    window is any 90 days, not the 90 days before the newest change."""
    verdicts = run((0, 30, 400, 60))
    assert [bool(v) for v in verdicts] == [False, False, False, True]
    [hit] = verdicts[-1]
    assert isinstance(hit, Hit)
    assert len(hit.evidence) == 3
    assert "2026-03-02至2026-05-01" in hit.explanation
    assert "变更股东3次" in hit.explanation


def test_a_change_outside_any_window_does_not_refire_an_old_burst() -> None:
    assert [bool(v) for v in run((0, 10, 20, 300))] == [False, False, True, False]


def test_evidence_names_every_change_of_the_window() -> None:
    kit = example_kit()
    uscc = kit.f.uscc()
    raw = [kit.shareholders_changed(uscc, day=d) for d in (0, 20, 40)]
    [hit] = RULE.evaluate(*kit.case(kit.registered(uscc, day=-500), *raw))
    assert isinstance(hit, Hit)
    assert [ev.event_id for ev in hit.evidence] == [r["id"] for r in raw]
    assert hit.evidence[-1].source == raw[-1]["source"]  # the event being evaluated
    assert "90天内3次" in hit.explanation


def test_other_changes_are_ignored_and_the_thresholds_configurable() -> None:
    kit = example_kit()
    uscc = kit.f.uscc()
    kit.feed(
        kit.registered(uscc, day=-500), *[kit.shareholders_changed(uscc, day=d) for d in (0, 1)]
    )
    event, facts = kit.case(kit.changed(uscc, "phone", "0755-1234567", day=2))
    assert RULE.evaluate(event, facts) == ()
    five_days = FrequentShareholderChange(
        FrequentShareholderChangeParams(min_changes=2, window_days=5)
    )
    assert run((0, 5), five_days)[-1]
    assert not run((0, 6), five_days)[-1]
