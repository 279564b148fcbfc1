"""The difference between two replays of one input: alerts added and removed (per rule and
department, with examples), the grade transition matrix, and precision and recall of each
version against the inspection labels and, given a simulation's truth, its planted cases.

An alert is identified by its fingerprint and its rank among that fingerprint's alerts
(the second alert of one fingerprint, after the first was resolved, is another alert):
the candidate *adds* an alert the live rules did not raise and *removes* one they did.
Only alerts whose event time lies in the period count.

>>> from datetime import UTC, datetime
>>> a = SeenAlert("r:enterprise:X", "r", ("samr",), "enterprise:X", ("X",),
...               datetime(2025, 1, 1, tzinfo=UTC), "t")
>>> sorted(keyed([a, a]))
[('r:enterprise:X', 1), ('r:enterprise:X', 2)]
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from cli.backtest_input import Period
from cli.backtest_run import Outcome, SeenAlert
from simulate.truth import Truth, score_rules

EXAMPLES_PER_RULE: Final = 3
LETTERS: Final = ("A", "B", "C", "D", "-")  # "-": not graded by that version
NO_DEPARTMENT: Final = "-"

AlertKey = tuple[str, int]


def keyed(alerts: Sequence[SeenAlert]) -> dict[AlertKey, SeenAlert]:
    rank: Counter[str] = Counter()
    out: dict[AlertKey, SeenAlert] = {}
    for alert in alerts:
        rank[alert.fingerprint] += 1
        out[(alert.fingerprint, rank[alert.fingerprint])] = alert
    return out


def in_period(alerts: Sequence[SeenAlert], period: Period) -> list[SeenAlert]:
    return [
        a
        for a in alerts
        if (period.start is None or a.event_time >= period.start)
        and (period.end is None or a.event_time <= period.end)
    ]


@dataclass(frozen=True, slots=True)
class Change:
    """Alerts added and removed by the candidate, per (rule, department)."""

    added: list[SeenAlert]
    removed: list[SeenAlert]

    def by_rule_department(self) -> list[dict[str, Any]]:
        counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for column, alerts in ((0, self.added), (1, self.removed)):
            for alert in alerts:
                for department in alert.departments or (NO_DEPARTMENT,):
                    counts[(alert.rule_id, department)][column] += 1
        return [
            {"rule_id": rule, "department": dept, "added": n[0], "removed": n[1]}
            for (rule, dept), n in sorted(counts.items())
        ]


def alert_change(live: Outcome, candidate: Outcome, period: Period) -> Change:
    before = keyed(in_period(live.alerts, period))
    after = keyed(in_period(candidate.alerts, period))
    return Change(
        added=[a for k, a in after.items() if k not in before],
        removed=[a for k, a in before.items() if k not in after],
    )


def examples(alerts: Sequence[SeenAlert], truth: Truth | None) -> list[dict[str, Any]]:
    """Up to :data:`EXAMPLES_PER_RULE` alerts of each rule, with what the truth says of
    the subject (``must_fire``, ``near_miss`` or ``null`` for the background)."""
    planted = _planted(truth)
    shown: Counter[str] = Counter()
    out = []
    for alert in alerts:
        if shown[alert.rule_id] >= EXAMPLES_PER_RULE:
            continue
        shown[alert.rule_id] += 1
        out.append(
            {
                "rule_id": alert.rule_id,
                "fingerprint": alert.fingerprint,
                "departments": list(alert.departments),
                "event_time": alert.event_time.isoformat(),
                "title": alert.title,
                "planted": planted.get(alert.fingerprint),
            }
        )
    return out


def _planted(truth: Truth | None) -> dict[str, str]:
    if truth is None:
        return {}
    return {e.fingerprint: "must_fire" if e.fire else "near_miss" for e in truth.expectations}


def near_misses_caught(added: Sequence[SeenAlert], truth: Truth | None) -> list[str]:
    """The planted near-misses among the added alerts' fingerprints (sorted)."""
    planted = _planted(truth)
    return sorted({a.fingerprint for a in added if planted.get(a.fingerprint) == "near_miss"})


def grade_matrix(live: Mapping[str, str], candidate: Mapping[str, str]) -> dict[str, Any]:
    """``{"changed": n, "matrix": {live letter: {candidate letter: n}}}`` over every
    enterprise either version graded."""
    matrix = {row: dict.fromkeys(LETTERS, 0) for row in LETTERS}
    changed = 0
    for uscc in live.keys() | candidate.keys():
        before, after = live.get(uscc, "-"), candidate.get(uscc, "-")
        matrix[before][after] += 1
        changed += before != after
    return {"changed": changed, "matrix": matrix}


def inspection_scores(
    alerts: Sequence[SeenAlert], labels: Sequence[tuple[str, datetime, bool]]
) -> dict[str, Any]:
    """Precision and recall of "an alert on the enterprise at or before the inspection"
    against what each inspection found."""
    first: dict[str, datetime] = {}
    for alert in alerts:
        for uscc in alert.enterprises:
            if uscc not in first or alert.event_time < first[uscc]:
                first[uscc] = alert.event_time
    tp = fp = fn = 0
    for uscc, when, found in labels:
        flagged = uscc in first and first[uscc] <= when
        tp += flagged and found
        fp += flagged and not found
        fn += found and not flagged
    return {
        "labels": len(labels),
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "recall": round(tp / (tp + fn), 4) if tp + fn else None,
    }


def planted_scores(outcome: Outcome, alerts: Sequence[SeenAlert], truth: Truth) -> dict[str, Any]:
    """Per rule, precision and recall on the simulation's planted cases and near-misses."""
    fired: dict[str, set[str]] = defaultdict(set)
    totals: Counter[str] = Counter()
    for alert in alerts:
        fired[alert.rule_id].add(alert.fingerprint)
        totals[alert.rule_id] += 1
    return {
        s.rule_id: {
            "status": s.status.value,
            "true_positives": s.true_positives,
            "false_positives": s.false_positives,
            "false_negatives": s.false_negatives,
            "precision": round(s.precision, 4),
            "recall": round(s.recall, 4),
        }
        for s in score_rules(truth, fired, totals, outcome.rules)
    }
