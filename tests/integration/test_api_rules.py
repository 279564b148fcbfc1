"""Rules through the real API and the real worker: the list shows every rule with its
version and thresholds in force; a change is checked as strictly as the rules file, is
refused against a stale version, and reaches the running worker without a restart. Only
the platform's (qianhai-authority) admins change a rule, each value within its range, and
the audit log keeps the thresholds before and after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.settings import Settings
from simulate.factory import EventFactory

from .api_kit import Accounts, Who, client, eventually, log_size, produce, wait_for_rules
from .conftest import Proc

pytestmark = [pytest.mark.redis, pytest.mark.kafka, pytest.mark.e2e]


@pytest.fixture(scope="module")
def admin(settings: Settings, api_server: str, worker: Proc) -> Iterator[Who]:
    who = Accounts(settings, api_server).oversight
    yield who
    since = log_size(worker)
    with client(api_server, who) as c:  # leave the defaults for the other tests
        reset = c.put("/api/v1/rules/tax_arrears", json={"thresholds": {}})
        reset.raise_for_status()
    wait_for_rules(worker, reset.json()["config_version"], since=since)


def test_the_list_shows_every_rule_in_force(api_server: str, admin: Who) -> None:
    with client(api_server, admin) as c:
        body = c.get("/api/v1/rules").json()
    rules = {r["rule_id"]: r for r in body["items"]}
    assert len(rules) == 12
    tax = rules["tax_arrears"]
    assert tax["version"] >= 1
    assert tax["severity"] == "high"
    assert tax["thresholds"]["min_arrears_cny"] == 100_000.0
    assert tax["defaults"] == {"min_arrears_cny": 100_000.0, "ratings": ["D"]}


def test_bad_changes_are_refused(api_server: str, admin: Who) -> None:
    with client(api_server, admin) as c:
        version = c.get("/api/v1/rules").json()["config_version"]
        for thresholds, words in [
            ({"min_arrears": 1}, "unknown key"),
            ({"min_arrears_cny": "lots"}, "must be a number"),
            ({"min_arrears_cny": -5}, "must not be negative"),
            ({"ratings": "D"}, "must be an array of strings"),
        ]:
            reply = c.put("/api/v1/rules/tax_arrears", json={"thresholds": thresholds})
            assert reply.status_code == 422, thresholds
            assert words in reply.json()["detail"]
        assert c.put("/api/v1/rules/no_such_rule", json={}).status_code == 404
        assert c.get("/api/v1/rules").json()["config_version"] == version
        stale = c.put(
            "/api/v1/rules/litigation_surge",
            json={"thresholds": {}, "expected_version": version + 7},
        )
        assert stale.status_code == 409


def test_a_change_reaches_the_running_worker(
    settings: Settings, worker: Proc, api_server: str, admin: Who
) -> None:
    with client(api_server, admin) as c:
        before = c.get("/api/v1/rules").json()["config_version"]
        since = log_size(worker)
        reply = c.put(
            "/api/v1/rules/tax_arrears",
            json={"thresholds": {"min_arrears_cny": 500000}, "expected_version": before},
        )
        assert reply.status_code == 200, reply.text
        rule = reply.json()
        assert rule["thresholds"]["min_arrears_cny"] == 500_000.0
        assert rule["overridden"] == ["min_arrears_cny"]
        assert rule["config_version"] == before + 1
        entries = c.get("/api/v1/audit", params={"target": "tax_arrears"}).json()["items"]
        assert entries[0]["action"] == "rule.update"
    wait_for_rules(worker, before + 1, since=since)
    f = EventFactory(source="api-rules", seed=9090)
    firm = f.uscc()
    produce(settings, [f.registered(firm), f.tax_arrears(firm, 300_000.0)])
    produce(settings, [f.tax_arrears(firm, 700_000.0)])
    with client(api_server, admin) as c:

        def fired() -> list[dict[str, object]]:
            params = {"uscc": firm, "rule_id": "tax_arrears"}
            return list(c.get("/api/v1/alerts", params=params).json()["items"])

        [alert] = eventually(fired, timeout=60, what="tax_arrears under the new threshold")
    assert "500,000" in str(alert["explanation"]) + str(alert["evidence"])
    assert len(alert["evidence"]) == 1  # the 300,000 arrears fired nothing


def test_a_departments_admin_cannot_change_a_rule_for_every_department(
    settings: Settings, api_server: str, admin: Who
) -> None:
    samr_admin = Accounts(settings, api_server).make("samr", "admin", "市场监管管理员")
    with client(api_server, admin) as c:
        version = c.get("/api/v1/rules").json()["config_version"]
    with client(api_server, samr_admin) as c:
        assert c.get("/api/v1/rules").status_code == 200  # reading stays open to admins
        reply = c.put("/api/v1/rules/tax_arrears", json={"enabled": False})
        assert reply.status_code == 403
        assert "qianhai-authority" in reply.json()["detail"]
    with client(api_server, admin) as c:
        after = c.get("/api/v1/rules").json()
    assert after["config_version"] == version
    assert next(r for r in after["items"] if r["rule_id"] == "tax_arrears")["enabled"]


def test_values_outside_a_rules_range_are_refused(api_server: str, admin: Who) -> None:
    with client(api_server, admin) as c:
        version = c.get("/api/v1/rules").json()["config_version"]
        for rule_id, thresholds in [
            ("tax_arrears", {"min_arrears_cny": 0}),
            ("early_warning", {"min_probability": 0.0}),
            ("person_many_companies", {"min_enterprises": 10**9}),
            ("tax_arrears", {"ratings": []}),
            ("grade_downgrade", {"grades": ["Z"]}),
        ]:
            reply = c.put(f"/api/v1/rules/{rule_id}", json={"thresholds": thresholds})
            assert reply.status_code == 422, (rule_id, thresholds, reply.text)
            assert "must" in reply.json()["detail"] or "only" in reply.json()["detail"]
        assert c.get("/api/v1/rules").json()["config_version"] == version


def test_a_rule_change_is_audited_with_before_and_after(api_server: str, admin: Who) -> None:
    with client(api_server, admin) as c:
        first = c.put(
            "/api/v1/rules/unreachable_contact",
            json={"thresholds": {"min_failures": 4}},
            headers={"X-Purpose": "test"},
        )
        assert first.status_code == 200, first.text
        second = c.put("/api/v1/rules/unreachable_contact", json={"thresholds": {}})
        assert second.status_code == 200, second.text
        entries = c.get(
            "/api/v1/audit", params={"target": "unreachable_contact", "action": "rule.update"}
        ).json()["items"]
    undo, change = entries[0]["detail"], entries[1]["detail"]
    assert change["before"]["thresholds"]["min_failures"] == 2
    assert change["after"]["thresholds"]["min_failures"] == 4
    assert (
        undo["before"]["thresholds"]["min_failures"],
        undo["after"]["thresholds"]["min_failures"],
    ) == (4, 2)
    assert change["after"]["enabled"] is True
