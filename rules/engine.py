"""The rule engine: which rules an event type reaches, what they need, and their hits."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence

from core.telemetry import RULE_ERRORS, get_logger
from rules.base import Facts, Need, Rule, Shared, Verdict
from rules.config import RulesConfig, build_rules
from rules.grading.weights import GradeWeights
from streams.event import Event
from streams.profile_store import Hub

log = get_logger(__name__)


def default_rules() -> list[Rule]:
    """Every registered rule with its default thresholds (see :mod:`rules.config`)."""
    return build_rules()


class RuleEngine:
    """The rules in force, and the grade weights and rules version of the config they came
    from (the defaults' when built from bare rules)."""

    grading: GradeWeights
    rules_version: str

    def __init__(self, rules: Iterable[Rule], config: RulesConfig | None = None) -> None:
        self.replace(rules, config or RulesConfig())

    @classmethod
    def from_config(cls, config: RulesConfig) -> RuleEngine:
        return cls(build_rules(config), config)

    def replace(self, rules: Iterable[Rule], config: RulesConfig | None = None) -> None:
        """Run ``rules`` from now on (a live change of thresholds: :mod:`rules.live`), with
        ``config``'s grade weights and version when given."""
        if config is not None:
            self.grading, self.rules_version = config.grading, config.version
        by_type: dict[str, list[Rule]] = {}
        ruleset = list(rules)
        for rule in ruleset:
            for etype in rule.inputs:
                by_type.setdefault(etype, []).append(rule)
        self.rules, self._by_type = ruleset, by_type

    def rules_for(self, event_type: str) -> Sequence[Rule]:
        return self._by_type.get(event_type, ())

    def needs_for(self, event_type: str) -> frozenset[Need]:
        return frozenset(n for r in self.rules_for(event_type) for n in r.needs)

    def sharing(self, shared: Shared) -> bool:
        """Whether any rule reads ``shared`` from other enterprises."""
        return any(shared in r.shares for r in self.rules)

    def reevaluate(self, trigger: Event, facts: Facts, shared: Collection[Shared]) -> list[Verdict]:
        """Verdicts of every rule that reads one of ``shared``, re-run for
        ``facts.enterprise`` because another enterprise's ``trigger`` changed it."""
        if not facts.enterprise.active:
            return []
        sharing = [r for r in self.rules if not r.shares.isdisjoint(shared)]
        return _each(sharing, trigger, lambda rule: rule.reevaluate(trigger, facts))

    def judges(self, kind: str) -> bool:
        """Whether any rule is about hubs of ``kind`` (``addr``, ``person``)."""
        return any(kind in r.judges for r in self.rules)

    def reevaluate_hub(self, trigger: Event, hub: Hub) -> list[Verdict]:
        """Verdicts about ``hub`` of every rule that judges its kind, after ``trigger``."""
        kind = hub.index.partition(":")[0]
        judging = [r for r in self.rules if kind in r.judges]
        return _each(judging, trigger, lambda rule: rule.reevaluate_hub(trigger, hub))

    def evaluate(self, event: Event, facts: Facts) -> list[Verdict]:
        """Verdicts of every rule that reads ``event.type``; a deregistered enterprise gets none.

        A rule that raises is logged and counted, and the other rules still run: one faulty
        rule must not stop the stream.
        """
        if not facts.enterprise.active:
            return []
        return _each(self.rules_for(event.type), event, lambda rule: rule.evaluate(event, facts))


def _each(
    rules: Iterable[Rule], event: Event, run: Callable[[Rule], Sequence[Verdict]]
) -> list[Verdict]:
    """``run`` each rule and gather the verdicts; a rule that raises is logged and counted
    (``riskwire_rule_errors_total``), and the others still run."""
    verdicts: list[Verdict] = []
    for rule in rules:
        try:
            verdicts += run(rule)
        except Exception:
            RULE_ERRORS.labels(rule.rule_id).inc()
            log.exception("rule failed", rule_id=rule.rule_id, event_type=event.type)
    return verdicts
