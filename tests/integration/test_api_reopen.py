"""An officer's status meets the running worker: an acknowledged alert stays acknowledged
through a replay and a mere rescore, reopens when new evidence arrives, and is closed
with the reason when its enterprise is deregistered."""

from __future__ import annotations

import time
from typing import Any

import pytest

from core.settings import Settings
from simulate.factory import EventFactory

from .api_kit import Accounts, Who, client, eventually, produce
from .conftest import Proc

pytestmark = [pytest.mark.redis, pytest.mark.kafka, pytest.mark.e2e]


@pytest.fixture(scope="module")
def officer(settings: Settings, api_server: str) -> Who:
    return Accounts(settings, api_server).make("tax", "duty_officer", "税务值班员")


def _the_alert(c: Any, firm: str) -> dict[str, Any] | None:
    items = c.get("/api/v1/alerts", params={"uscc": firm, "rule_id": "tax_arrears"}).json()
    return items["items"][0] if items["items"] else None


def test_acknowledged_alerts_reopen_on_new_evidence_only(
    settings: Settings, worker: Proc, api_server: str, officer: Who
) -> None:
    f = EventFactory(source="api-reopen", seed=3131)
    firm = f.uscc()
    arrears = f.tax_arrears(firm, 250_000.0)
    produce(settings, [f.registered(firm), arrears])
    with client(api_server, officer) as c:
        alert = eventually(lambda: _the_alert(c, firm), timeout=60, what="tax_arrears alert")
        acked = c.post(f"/api/v1/alerts/{alert['alert_id']}/acknowledge", json={"note": "已知悉"})
        assert acked.status_code == 200
        revision = acked.json()["revision"]
        rated_b = f.event("tax.credit_rated", firm, {"year": 2025, "rating": "B"})
        produce(settings, [arrears, rated_b, f.tax_paid(firm)])

        def rated() -> bool:
            profile = c.get(f"/api/v1/enterprises/{firm}").json()
            return bool(profile["tax"]["credit_rating"] == "B")

        eventually(rated, timeout=60, what="the worker applied the rating")
        time.sleep(2)  # the batch's alerts are written right after its profiles
        same = _the_alert(c, firm)
        assert same is not None
        assert (same["status"], same["revision"]) == ("acknowledged", revision)
        rated_d = f.event("tax.credit_rated", firm, {"year": 2025, "rating": "D"})
        produce(settings, [rated_d])

        def reopened() -> dict[str, Any] | None:
            now = _the_alert(c, firm)
            return now if now and now["status"] == "open" else None

        now = eventually(reopened, timeout=60, what="the alert reopened")
        assert now["revision"] > revision
        assert [e["action"] for e in now["timeline"]] == ["acknowledge", "reopen"]


def test_a_deregistered_enterprises_alerts_are_closed_with_the_reason(
    settings: Settings, worker: Proc, api_server: str, officer: Who
) -> None:
    f = EventFactory(source="api-deregister", seed=3232)
    firm = f.uscc()
    produce(settings, [f.registered(firm), f.tax_arrears(firm, 260_000.0)])
    with client(api_server, officer) as c:
        eventually(lambda: _the_alert(c, firm), timeout=60, what="tax_arrears alert")
        produce(settings, [f.event("enterprise.deregistered", firm, {"reason": "决议解散"})])

        def closed() -> dict[str, Any] | None:
            now = _the_alert(c, firm)
            return now if now and now["status"] == "resolved" else None

        done = eventually(closed, timeout=60, what="the alert closed")
    assert done["status_reason"] == "企业已注销（决议解散），告警关闭"
    assert done["timeline"][-1]["action"] == "close"
