"""``same_address_cluster``: 5 live enterprises at one address, 3 registered within 180
days of the newest; the hit names every member and grows as members join."""

from __future__ import annotations

import pytest

from rules.base import Hit
from rules.params import SameAddressClusterParams
from rules.same_address_cluster import SameAddressCluster, recent_cluster

from .example_kit import example_kit

RULE = SameAddressCluster()
ADDRESS = "广东省深圳市南山区桂湾五路１２８号"


@pytest.mark.parametrize(("oldest_recent", "fires"), [(180, True), (181, False)])
def test_recent_means_within_180_days_of_the_newest(oldest_recent: int, fires: bool) -> None:
    kit = example_kit()
    ages = (900, 800, oldest_recent, 20, 0)
    raw = [kit.registered(address=ADDRESS, day=-age) for age in ages]
    assert bool(RULE.evaluate(*kit.case(*raw))) is fires


def test_the_hit_names_every_member_and_grows() -> None:
    kit = example_kit()
    raw = [kit.registered(address=ADDRESS, day=-d) for d in (10, 8, 6, 4)]
    event, facts = kit.case(*raw)
    assert RULE.evaluate(event, facts) == ()
    joined = kit.registered(address="南山区 桂湾五路128號", day=0)
    [hit] = RULE.evaluate(*kit.case(joined))
    assert isinstance(hit, Hit)
    assert sorted(hit.enterprises) == sorted([*(r["subject"] for r in raw), joined["subject"]])
    assert hit.enterprises_total == 5
    sixth = kit.registered(address=ADDRESS, day=1)
    [grown] = RULE.evaluate(*kit.case(sixth))
    assert isinstance(grown, Hit)
    assert grown.subject_id == hit.subject_id == "南山区桂湾五路128号"
    assert len(grown.enterprises) == 6
    assert "6家" in grown.title


def test_the_predicate_counts_unknown_registration_days_as_old() -> None:
    kit = example_kit()
    kit.feed(*[kit.registered(address=ADDRESS, day=-d) for d in (3, 2, 1, 0)])
    _, facts = kit.case(kit.registered(address=ADDRESS, day=0))
    hub = facts.address_hub()
    assert recent_cluster(hub, SameAddressClusterParams())  # 5, 3 of them within 180 days
    assert recent_cluster(hub, SameAddressClusterParams(min_enterprises=6)) == []
    assert recent_cluster(None, SameAddressClusterParams()) == []
