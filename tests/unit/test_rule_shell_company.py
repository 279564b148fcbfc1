"""``shell_company``: new, no paid-in capital, and 2 of the other rules' indicators; it
clears when a removal leaves fewer than 2."""

from __future__ import annotations

import pytest

from rules.base import Clear, Hit
from rules.params import FrequentShareholderChangeParams
from rules.shell_company import ShellCompany
from rules.shell_indicators import Peers, indicators

from .example_kit import example_kit

RULE = ShellCompany()
ADDRESS = "深圳市南山区前湾一路1号"


@pytest.mark.parametrize(("day", "fires"), [(365, True), (366, False)])
def test_registered_within_365_days_of_the_event(day: int, fires: bool) -> None:
    kit = example_kit()
    uscc = kit.f.uscc()
    verdicts = RULE.evaluate(
        *kit.case(kit.registered(uscc, capital_paid=0.0), kit.abnormal_listed(uscc, day=day))
    )
    assert bool(verdicts) is fires


def test_paid_in_capital_keeps_it_silent() -> None:
    kit = example_kit()
    uscc = kit.f.uscc()
    verdicts = RULE.evaluate(
        *kit.case(kit.registered(uscc, capital_paid=1.0), kit.abnormal_listed(uscc, day=5))
    )
    assert verdicts == ()


def test_one_indicator_is_not_enough_two_are() -> None:
    kit = example_kit()
    uscc = kit.f.uscc()
    listed = kit.abnormal_listed(uscc, "annual_report_missing", day=5)
    assert RULE.evaluate(*kit.case(kit.registered(uscc, capital_paid=0.0), listed)) == ()
    changes = [kit.shareholders_changed(uscc, day=d) for d in (10, 20, 30)]
    [hit] = RULE.evaluate(*kit.case(*changes))
    assert isinstance(hit, Hit)
    assert "2项空壳特征" in hit.explanation
    assert "90天内股东变更3次" in hit.explanation
    assert "经营异常名录" in hit.explanation


def test_the_cluster_and_the_front_person_are_indicators_at_registration() -> None:
    """Four companies of one front person at one address; the fifth, with no capital paid,
    is a shell the moment it registers."""
    kit = example_kit()
    front = kit.person()
    kit.feed(*[kit.registered(legal_rep=front, address=ADDRESS, day=-d) for d in (40, 30, 20, 10)])
    event, facts = kit.case(kit.registered(legal_rep=front, address=ADDRESS, capital_paid=0.0))
    found = indicators(facts, RULE.peers)
    assert len(found) == 2
    assert "同址聚集" in found[0][0]
    assert "5家企业" in found[1][0]
    [hit] = RULE.evaluate(event, facts)
    assert isinstance(hit, Hit)
    assert hit.subject_id == event.subject.id


def test_the_indicators_use_the_peers_thresholds() -> None:
    kit = example_kit()
    uscc = kit.f.uscc()
    kit.feed(kit.registered(uscc, capital_paid=0.0), kit.shareholders_changed(uscc, day=3))
    pair = kit.case(
        kit.abnormal_listed(uscc, "other", day=4), kit.shareholders_changed(uscc, day=5)
    )
    [clear] = RULE.evaluate(*pair)  # one indicator: a change that does not fire clears
    assert isinstance(clear, Clear)
    eager = ShellCompany(peers=Peers(changes=FrequentShareholderChangeParams(min_changes=2)))
    [hit] = eager.evaluate(*pair)
    assert isinstance(hit, Hit)


def test_a_removal_that_leaves_fewer_than_two_clears() -> None:
    kit = example_kit()
    uscc = kit.f.uscc()
    kit.feed(kit.registered(uscc, capital_paid=0.0), kit.abnormal_listed(uscc, day=5))
    [clear] = RULE.evaluate(*kit.case(kit.abnormal_removed(uscc, day=30)))
    assert isinstance(clear, Clear)
    assert clear.reason == "空壳企业特征仅余0项，低于阈值2项"


def test_a_removal_that_leaves_two_neither_clears_nor_fires() -> None:
    kit = example_kit()
    uscc = kit.f.uscc()
    kit.feed(kit.registered(uscc, capital_paid=0.0), kit.abnormal_listed(uscc, day=5))
    kit.feed(*[kit.contact_failed(uscc, day=d) for d in (6, 7)])
    kit.feed(*[kit.shareholders_changed(uscc, day=d) for d in (8, 9, 10)])
    assert RULE.evaluate(*kit.case(kit.abnormal_removed(uscc, day=30))) == ()


def test_capital_paid_in_clears() -> None:
    kit = example_kit()
    uscc = kit.f.uscc()
    kit.feed(kit.registered(uscc, capital_paid=0.0), kit.abnormal_listed(uscc, day=5))
    [clear] = RULE.evaluate(*kit.case(kit.changed(uscc, "capital_paid", 500_000.0, day=9)))
    assert isinstance(clear, Clear)
    assert "500,000元" in clear.reason
