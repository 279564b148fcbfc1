"""One registry of rule ids, severities and default routes (streams/rule_catalog.py), read by
every layer: the rules take their severity from it and may not spell another."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from alerts.dedup import RESCORING_RULES as FOLD_RESCORING_RULES
from api.routes.subscriptions import DEFAULT_ROUTE as API_ROUTE
from rules.base import Facts, Rule, Verdict
from rules.registry import DEFAULT_PARAMS, RULE_CLASSES
from streams.alert import Severity
from streams.event import Event
from streams.rule_catalog import CATALOG, DEFAULT_ROUTE, RESCORING_RULES, RULE_IDS


def test_every_rule_class_takes_its_severity_from_the_catalog() -> None:
    assert {cls.rule_id: cls.severity for cls in RULE_CLASSES} == {
        r: e.severity for r, e in CATALOG.items()
    }


def declare(rule_id: str, severity: Severity) -> type[Rule]:
    """A rule class that spells its own severity, declared as a rule module would."""

    def evaluate(self: Rule, event: Event, facts: Facts) -> Sequence[Verdict]:
        return ()

    body = {"rule_id": rule_id, "version": 1, "severity": severity, "evaluate": evaluate}
    return type("Declared", (Rule,), {**body, "inputs": frozenset({"tax.arrears"})})


def test_a_catalog_rule_may_not_spell_its_own_severity() -> None:
    with pytest.raises(TypeError, match="severity is the catalog's"):
        declare("tax_arrears", Severity.CRITICAL)


def test_a_rule_outside_the_catalog_names_its_own_severity() -> None:
    assert declare("local_only", Severity.LOW).severity is Severity.LOW


def test_every_layer_reads_the_same_ids_and_routes() -> None:
    assert tuple(DEFAULT_PARAMS) == RULE_IDS
    assert API_ROUTE is DEFAULT_ROUTE
    assert FOLD_RESCORING_RULES is RESCORING_RULES == {"early_warning"}
    assert set(DEFAULT_ROUTE) == set(RULE_IDS)
