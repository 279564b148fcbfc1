"""Subscriptions and routing: what a department receives of the alerts routed to it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from alerts.routing import deliveries_for, receivers_of
from alerts.subscriptions import (
    Subscription,
    SubscriptionCache,
    SubscriptionCriteria,
    matches,
    wants,
)
from core.clock import FakeClock
from core.errors import StoreError
from streams.alert import Alert, AlertSubject, Severity
from streams.rule_catalog import OVERSIGHT_DEPARTMENT, departments_for

FIRM = "91350100M000100Y43"
OTHER = "91440300MA5DA1B2XK"
AT = datetime(2026, 3, 1, tzinfo=UTC)


def alert(**changes: Any) -> Alert:
    rule_id = changes.pop("rule_id", "tax_arrears")
    fields: dict[str, Any] = {
        "alert_id": "01JALERT0000000000000000000",
        "fingerprint": f"{rule_id}:enterprise:{FIRM}",
        "rule_id": rule_id,
        "rule_version": 1,
        "severity": Severity.HIGH,
        "subject": AlertSubject(kind="enterprise", id=FIRM),
        "enterprises": [FIRM],
        "grade": "C",
        "title": "欠税",
        "explanation": "欠税 300000 元",
        "evidence": [],
        "departments": departments_for(rule_id),
        "event_time": AT,
        "created_at": AT,
        "updated_at": AT,
    }
    fields.update(changes)
    return Alert(**fields)


def crit(**kwargs: Any) -> SubscriptionCriteria:
    return SubscriptionCriteria(**kwargs)


def test_an_empty_subscription_matches_everything() -> None:
    assert matches(alert(), crit())
    assert matches(alert(severity=Severity.INFO, grade=None), crit())


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ({"rule_ids": ["tax_arrears"]}, True),
        ({"rule_ids": ["shell_company", "litigation_surge"]}, False),
        ({"min_severity": "medium"}, True),
        ({"min_severity": "high"}, True),
        ({"min_severity": "critical"}, False),
        ({"grades": ["C", "D"]}, True),
        ({"grades": ["A", "B"]}, False),
        ({"usccs": [FIRM]}, True),
        ({"usccs": [OTHER]}, False),
        ({"rule_ids": ["tax_arrears"], "min_severity": "critical"}, False),  # all must hold
        ({"rule_ids": ["tax_arrears"], "grades": ["C"], "usccs": [OTHER, FIRM]}, True),
    ],
)
def test_each_criterion_must_hold(criteria: dict[str, Any], expected: bool) -> None:
    assert matches(alert(), crit(**criteria)) is expected


def test_an_alert_without_grade_never_meets_a_grade_criterion() -> None:
    person = alert(
        rule_id="person_many_companies",
        subject=AlertSubject(kind="person", id="p" * 32),
        enterprises=[FIRM, OTHER],
        grade=None,
    )
    assert not matches(person, crit(grades=["D"]))
    assert matches(person, crit(usccs=[OTHER]))  # any of its enterprises


def test_the_uscc_criterion_is_met_by_the_subject_too() -> None:
    hub = alert(subject=AlertSubject(kind="enterprise", id=OTHER), enterprises=[])
    assert matches(hub, crit(usccs=[OTHER]))


def test_a_department_wants_what_any_of_its_subscriptions_match() -> None:
    a = alert()
    assert wants(a, [])
    assert wants(a, [crit(min_severity="critical"), crit(rule_ids=["tax_arrears"])])
    assert not wants(a, [crit(min_severity="critical"), crit(grades=["A"])])


def test_without_subscriptions_every_owner_receives_it() -> None:
    a = alert(rule_id="shell_company", severity=Severity.CRITICAL)
    assert deliveries_for(a, {}) == {"samr", "police", "enforcement-bureau", OVERSIGHT_DEPARTMENT}


def test_subscriptions_filter_only_their_own_department() -> None:
    a = alert(rule_id="shell_company", severity=Severity.CRITICAL)
    subs = {
        "police": [crit(usccs=[OTHER])],  # police follows one other firm only
        "samr": [crit(min_severity="high")],
        OVERSIGHT_DEPARTMENT: [crit(rule_ids=["early_warning"])],
        "tax": [crit()],  # not an owner: a subscription never adds a department
    }
    assert deliveries_for(a, subs) == {"samr", "enforcement-bureau"}
    # The alert still names all its owners, so each sees who else holds it.
    assert a.departments == ["samr", "police", "enforcement-bureau", OVERSIGHT_DEPARTMENT]


def test_oversight_receives_everything_unless_it_subscribes() -> None:
    for rule_id in ("tax_arrears", "litigation_surge", "not_in_the_route_table"):
        assert OVERSIGHT_DEPARTMENT in deliveries_for(alert(rule_id=rule_id), {})


@pytest.mark.parametrize(
    "bad",
    [
        {"grades": ["E"]},
        {"min_severity": "urgent"},
        {"usccs": ["not-a-uscc"]},
        {"rule_ids": ["Tax Arrears"]},
        {"departments": ["samr"]},  # unknown key
    ],
)
def test_criteria_are_validated_strictly(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SubscriptionCriteria.model_validate(bad)


class FlakyStore:
    def __init__(self) -> None:
        self.reads = 0
        self.down = False
        self.subs: dict[str, list[Subscription]] = {}

    async def by_departments(self, departments: Iterable[str]) -> dict[str, list[Subscription]]:
        self.reads += 1
        if self.down:
            raise StoreError("redis is down")
        return {d: list(self.subs.get(d, [])) for d in departments}


async def test_the_cache_rereads_after_its_ttl_and_keeps_the_last_on_failure() -> None:
    store = FlakyStore()
    clock = FakeClock(AT)
    cache = SubscriptionCache(store, clock, ["tax", "samr"], ttl_s=5)  # type: ignore[arg-type]
    assert await cache.current() == {"tax": [], "samr": []}
    store.subs["tax"] = [Subscription(id="s1", department="tax", min_severity=Severity.CRITICAL)]
    clock.advance(4.9)
    assert (await cache.current())["tax"] == []  # still fresh
    clock.advance(0.1)
    assert [s.id for s in (await cache.current())["tax"]] == ["s1"]
    store.down = True
    clock.advance(5)
    assert [s.id for s in (await cache.current())["tax"]] == ["s1"]
    assert store.reads == 3
    assert deliveries_for(alert(), cache.snapshot) == {OVERSIGHT_DEPARTMENT}


def test_receivers_of_keeps_owner_order_and_filters_like_deliveries_for() -> None:
    a = alert(rule_id="shell_company", severity=Severity.CRITICAL)
    owners = a.departments
    raw = a.model_dump_json().encode()
    assert receivers_of(raw, owners, {}) == owners
    subs = {"police": [SubscriptionCriteria(usccs=[OTHER])]}
    assert receivers_of(raw, owners, subs) == ["samr", "enforcement-bureau", OVERSIGHT_DEPARTMENT]
    assert set(receivers_of(raw, owners, subs)) == deliveries_for(a, subs)
