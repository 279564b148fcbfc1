"""Ground truth of a simulation, and how riskwire's output is scored against it.

The truth names alerts by fingerprint (``rule_id:kind:id``: an enterprise by its uscc, a
person by its keyed hash, an address by its normalised form), so it holds no raw
id_number. Per rule it lists the planted cases that must fire and the near-misses that
must not; precision and recall count only alerts on those subjects, so the background
population's own (legitimate) alerts do not blur the figure. It also keeps every
inspection label the stream carried, for the early-warning model's AUC.

>>> roc_auc([(0.9, True), (0.8, False), (0.7, True), (0.1, False)])
0.75
>>> grade_mix(["A", "A", "B", "D"])
{'A': 0.5, 'B': 0.25, 'C': 0.0, 'D': 0.25}
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import orjson

from simulate.calendar import from_datetime, to_datetime
from streams.rule_catalog import RULE_IDS

RULES: Final = RULE_IDS
MODEL_RULES: Final = frozenset({"early_warning"})  # probabilistic: scored by AUC, not in the min
GRADES: Final = ("A", "B", "C", "D")


@dataclass(frozen=True, slots=True)
class Expectation:
    """One planted alert that must fire (``fire``) or a near-miss that must not.

    A near-miss that misses one threshold by a known amount names it: ``threshold`` is
    the key of ``rule_id``'s table and ``value`` what the case planted (the amount, the
    number of facts, or the days between the first and the last fact). A backtest whose
    candidate moves that threshold past ``value`` must find exactly these
    (:meth:`caught_by`)."""

    rule_id: str
    fingerprint: str
    fire: bool
    case: str
    note: str
    threshold: str | None = None
    value: float | None = None

    def caught_by(self, key: str, candidate: float) -> bool:
        """Whether a rule whose ``key`` is ``candidate`` fires on this near-miss: a
        minimum (``min_*``) catches it at or below the planted value, a window
        (``*_days``) at or above it.

        >>> miss = Expectation("tax_arrears", "f", False, "c", "", "min_arrears_cny", 99_999.99)
        >>> miss.caught_by("min_arrears_cny", 99_999.0), miss.caught_by("min_arrears_cny", 1e5)
        (True, False)
        """
        if self.fire or self.threshold != key or self.value is None:
            return False
        if key.startswith("min_"):
            return candidate <= self.value
        return key.endswith("_days") and candidate >= self.value


@dataclass(slots=True)
class Truth:
    seed: int
    scale: str
    run: str
    expectations: list[Expectation] = field(default_factory=list)
    population: list[str] = field(default_factory=list)
    labels: list[tuple[str, int, bool]] = field(default_factory=list)  # uscc, stamp, label
    events: int = 0
    dead_letters: int = 0

    def expected(self, rule_id: str) -> set[str]:
        return {e.fingerprint for e in self.expectations if e.rule_id == rule_id and e.fire}

    def forbidden(self, rule_id: str) -> set[str]:
        return {e.fingerprint for e in self.expectations if e.rule_id == rule_id and not e.fire}

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "seed": self.seed,
                "scale": self.scale,
                "run": self.run,
                "events": self.events,
                "dead_letters": self.dead_letters,
                "rules": {
                    rule: {
                        "must_fire": sorted(self.expected(rule)),
                        "must_not_fire": sorted(self.forbidden(rule)),
                    }
                    for rule in RULES
                },
                "cases": [
                    {
                        "rule_id": e.rule_id,
                        "fingerprint": e.fingerprint,
                        "fire": e.fire,
                        "case": e.case,
                        "note": e.note,
                        "threshold": e.threshold,
                        "value": e.value,
                    }
                    for e in self.expectations
                ],
                "population": self.population,
                "labels": [
                    [uscc, to_datetime(stamp).isoformat(), label]
                    for uscc, stamp, label in self.labels
                ],
            },
            option=orjson.OPT_INDENT_2,
        )

    @classmethod
    def from_json(cls, raw: bytes) -> Truth:
        doc: dict[str, Any] = orjson.loads(raw)
        return cls(
            seed=doc["seed"],
            scale=doc["scale"],
            run=doc["run"],
            expectations=[Expectation(**c) for c in doc["cases"]],
            population=doc["population"],
            labels=[
                (uscc, from_datetime(datetime.fromisoformat(at)), label)
                for uscc, at, label in doc["labels"]
            ],
            events=doc["events"],
            dead_letters=doc["dead_letters"],
        )


class RuleStatus(enum.StrEnum):
    SCORED = "scored"
    MODEL = "model"  # reported, not in the minimum: the AUC measures it
    NOT_IMPLEMENTED = "not implemented"


@dataclass(frozen=True, slots=True)
class RuleScore:
    rule_id: str
    status: RuleStatus
    expected: int
    forbidden: int
    true_positives: int
    false_positives: int
    alerts: int  # every alert of the rule on the simulated population, planted or not

    @property
    def false_negatives(self) -> int:
        return self.expected - self.true_positives

    @property
    def precision(self) -> float:
        fired = self.true_positives + self.false_positives
        if fired == 0:
            return 1.0 if self.expected == 0 else 0.0
        return self.true_positives / fired

    @property
    def recall(self) -> float:
        return self.true_positives / self.expected if self.expected else 1.0

    @property
    def in_minimum(self) -> bool:
        return self.status is RuleStatus.SCORED


def score_rules(
    truth: Truth,
    fired: Mapping[str, Collection[str]],
    alerts: Mapping[str, int],
    implemented: Collection[str],
) -> list[RuleScore]:
    """Score every rule of ``alerts.md``: ``fired`` maps a rule to the fingerprints of
    its alerts (open or not), ``alerts`` to its alert count on the population."""
    out = []
    for rule in RULES:
        must, must_not = truth.expected(rule), truth.forbidden(rule)
        got = set(fired.get(rule, ()))
        if rule not in implemented:
            status = RuleStatus.NOT_IMPLEMENTED
        else:
            status = RuleStatus.MODEL if rule in MODEL_RULES else RuleStatus.SCORED
        out.append(
            RuleScore(
                rule_id=rule,
                status=status,
                expected=len(must),
                forbidden=len(must_not),
                true_positives=len(must & got),
                false_positives=len(must_not & got),
                alerts=alerts.get(rule, 0),
            )
        )
    return out


def roc_auc(scored: Sequence[tuple[float, bool]]) -> float | None:
    """The ROC AUC of (score, label) pairs (ties count half); ``None`` without both classes."""
    positives = sum(1 for _, label in scored if label)
    negatives = len(scored) - positives
    if positives == 0 or negatives == 0:
        return None
    ranked = sorted(scored, key=lambda pair: pair[0])
    rank_sum = 0.0
    i = 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid_rank = (i + j + 1) / 2  # average 1-based rank of the tie group
        rank_sum += mid_rank * sum(1 for _, label in ranked[i:j] if label)
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def grade_mix(grades: Iterable[str]) -> dict[str, float]:
    """Share of each grade letter among the graded enterprises (all 0 when none is)."""
    counts = Counter(g for g in grades if g in GRADES)
    total = sum(counts.values())
    return {g: (counts[g] / total if total else 0.0) for g in GRADES}


def summary_line(scores: Sequence[RuleScore], auc: float | None, mix: Mapping[str, float]) -> str:
    """``min_rule_precision=… min_rule_recall=… early_warning_auc=… grade_mix=A:…,…``."""
    counted = [s for s in scores if s.in_minimum]
    precision = min((s.precision for s in counted), default=0.0)
    recall = min((s.recall for s in counted), default=0.0)
    grades = ",".join(f"{g}:{mix.get(g, 0.0):.3f}" for g in GRADES)
    return (
        f"min_rule_precision={precision:.3f} min_rule_recall={recall:.3f} "
        f"early_warning_auc={auc or 0.0:.3f} grade_mix={grades}"
    )
