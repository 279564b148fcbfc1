"""``unreachable_contact``: 2 failed contacts within 180 days, or a listing for an
unreachable address; removing the listing clears it unless the failures still hold."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from rules.base import Clear, Hit, Verdict
from rules.unreachable_contact import UnreachableContact

from .example_kit import example_kit

RULE = UnreachableContact()


def run(days: Sequence[int]) -> list[Sequence[Verdict]]:
    kit = example_kit()
    uscc = kit.f.uscc()
    kit.feed(kit.registered(uscc, day=-500))
    return [RULE.evaluate(*kit.case(kit.contact_failed(uscc, day=d))) for d in days]


@pytest.mark.parametrize(("days", "fires"), [((0, 180), True), ((0, 181), False)])
def test_the_window_edges(days: Sequence[int], fires: bool) -> None:
    assert bool(run(days)[-1]) is fires


def test_a_late_failure_still_fires() -> None:
    verdicts = run((300, 0, 170))
    assert [bool(v) for v in verdicts] == [False, False, True]
    [hit] = verdicts[-1]
    assert isinstance(hit, Hit)
    assert "联系失败2次" in hit.explanation  # days 0 and 170; day 300 is 130 days later
    assert len(hit.evidence) == 2


def test_an_unreachable_address_listing_fires_at_once() -> None:
    kit = example_kit()
    uscc = kit.f.uscc()
    listed = kit.abnormal_listed(uscc, day=3)
    [hit] = RULE.evaluate(*kit.case(kit.registered(uscc), listed))
    assert isinstance(hit, Hit)
    assert [ev.event_id for ev in hit.evidence] == [listed["id"]]
    assert "无法联系" in hit.explanation
    other = example_kit()
    u2 = other.f.uscc()
    assert (
        RULE.evaluate(*other.case(other.registered(u2), other.abnormal_listed(u2, "other"))) == ()
    )


def test_removing_the_listing_clears() -> None:
    kit = example_kit()
    uscc = kit.f.uscc()
    kit.feed(kit.registered(uscc), kit.abnormal_listed(uscc, day=3), kit.contact_failed(uscc))
    [clear] = RULE.evaluate(*kit.case(kit.abnormal_removed(uscc, day=40)))
    assert isinstance(clear, Clear)
    assert clear.subject_id == uscc
    assert clear.reason.startswith("经营异常名录（无法联系）已移出")
    assert "已补报年报并更正住所" in clear.reason


def test_removing_the_listing_does_not_clear_while_failures_hold() -> None:
    kit = example_kit()
    uscc = kit.f.uscc()
    kit.feed(kit.registered(uscc), kit.abnormal_listed(uscc, day=3))
    kit.feed(kit.contact_failed(uscc, day=5), kit.contact_failed(uscc, "tax", day=9))
    assert RULE.evaluate(*kit.case(kit.abnormal_removed(uscc, day=40))) == ()
