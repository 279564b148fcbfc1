"""How the fault suite judges alerts (``tests/integration/chaos/compare.py``): the alerts
open at the end must be the clean run's; closed ones that differ are listed, not counted;
a planted case is owed; ``early_warning`` only by its planted cases."""

from __future__ import annotations

from collections import Counter

from tests.integration.chaos.compare import Snapshot, Tally, compare_alerts

GD = "grade_downgrade:enterprise:U1"
TA = "tax_arrears:enterprise:U2"
EW = "early_warning:enterprise:U3"


def snap(stored: dict[str, int], open_: dict[str, tuple[str, ...]]) -> Snapshot:
    return Snapshot(profiles={}, alerts=Counter(stored), open=open_, rules=set(), feed=[])


def judged(clean: Snapshot, faulted: Snapshot, planted: frozenset[str] = frozenset()) -> Tally:
    tally = Tally(faults=1)
    compare_alerts(clean, faulted, set(planted), tally)
    return tally


def test_an_open_alert_only_the_clean_run_has_is_missing_one_only_the_faulted_has_extra() -> None:
    clean = snap({GD: 1, TA: 1}, {GD: ("U1",)})
    faulted = snap({GD: 1, TA: 1}, {TA: ("U2",)})
    tally = judged(clean, faulted)
    assert (tally.alerts_missing, tally.alerts_duplicated) == (1, 1)


def test_other_members_of_an_open_alert_count_both_ways() -> None:
    tally = judged(snap({GD: 1}, {GD: ("U1",)}), snap({GD: 1}, {GD: ("U1", "U9")}))
    assert (tally.alerts_missing, tally.alerts_duplicated) == (1, 1)


def test_closed_alerts_that_differ_are_listed_not_counted() -> None:
    tally = judged(snap({TA: 1, GD: 2}, {GD: ("U1",)}), snap({TA: 2, GD: 3}, {GD: ("U1",)}))
    assert not tally.failed
    assert len(tally.notes) == 2


def test_a_planted_case_never_raised_is_missing_whatever_the_rule() -> None:
    clean, faulted = snap({TA: 1, EW: 1}, {}), snap({}, {})
    assert judged(clean, faulted).alerts_missing == 0  # closed in the clean run, not planted
    assert judged(clean, faulted, frozenset({TA, EW})).alerts_missing == 2


def test_early_warning_is_held_to_its_planted_cases_only() -> None:
    tally = judged(snap({EW: 1}, {EW: ("U3",)}), snap({}, {}))
    assert not tally.failed
    assert tally.notes == [f"alert {EW}: 0 stored, clean run 1 (model order)"]
