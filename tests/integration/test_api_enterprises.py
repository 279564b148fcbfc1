"""The query API against profiles the real worker built from events on the real broker:
one profile (people masked, flags, grade and history, open alerts of the caller's
department only), the batch (per-row answers, a few round trips for 10,000 codes), the
related enterprises and the expansion from seeds; each query is in the audit log."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from core.settings import Settings
from simulate.factory import EventFactory

from .api_kit import Accounts, Who, client, eventually, produce
from .conftest import Proc

pytestmark = [pytest.mark.redis, pytest.mark.kafka, pytest.mark.e2e]


@dataclass(frozen=True)
class Firms:
    main: str  # dishonest legal rep, tax arrears
    twin: str  # same legal rep and address
    plain: str
    unknown: str
    boss: dict[str, Any]


@pytest.fixture(scope="module")
def samr(people: Accounts) -> Who:
    return people.make("samr", "analyst", "市场监管分析员")


@pytest.fixture(scope="module")
def tax(people: Accounts) -> Who:
    return people.make("tax", "analyst", "税务分析员")


@pytest.fixture(scope="module")
def firms(settings: Settings, worker: Proc, api_server: str, samr: Who) -> Firms:
    f = EventFactory(source="api-enterprises", seed=4242)
    boss = f.person()
    main, twin, plain, unknown = f.uscc(), f.uscc(), f.uscc(), f.uscc()
    address = "广东省深圳市南山区前海深港合作区前湾一路1号A栋201室"
    produce(
        settings,
        [
            f.registered(main, legal_rep=boss, address=address),
            f.registered(twin, legal_rep=boss, address=address),
            f.registered(plain),
            f.tax_arrears(main, 300_000.0),
            f.debtor_listed_person(boss),
        ],
    )
    with client(api_server, samr) as c:

        def ready() -> bool:
            reply = c.get(f"/api/v1/enterprises/{main}")
            body = reply.json() if reply.status_code == 200 else {}
            flags = {flag["code"] for flag in body.get("flags", [])}
            return bool(body.get("grade")) and "legal_rep_dishonest" in flags

        eventually(ready, timeout=90, what="the worker built the profiles")
        eventually(
            lambda: c.get(f"/api/v1/enterprises/{plain}").status_code == 200,
            timeout=60,
            what="the plain firm",
        )
    return Firms(main, twin, plain, unknown, boss)


def test_a_profile_masks_people_and_shows_grade_flags_and_history(
    api_server: str, samr: Who, firms: Firms
) -> None:
    with client(api_server, samr) as c:
        reply = c.get(f"/api/v1/enterprises/{firms.main}", params={"purpose": "专项检查"})
    assert reply.status_code == 200
    body = reply.json()
    assert firms.boss["id_number"] not in reply.text
    rep = body["legal_rep"]
    assert rep["name"] == firms.boss["name"]
    masked = firms.boss["id_number"][:4] + "*" * 10 + firms.boss["id_number"][-4:]
    assert rep["id_number_masked"] == masked
    assert "id_number" not in rep
    flags = {flag["code"] for flag in body["flags"]}
    assert {"legal_rep_dishonest", "tax_arrears"} <= flags
    assert body["grade"]["grade"] in "ABCD"
    assert body["grade"]["factors"]
    assert body["grade"]["rules_version"].startswith("r-")  # the rules it was computed under
    assert body["grade_history"]
    assert all(g["rules_version"].startswith("r-") for g in body["grade_history"])
    assert body["tax"]["arrears_outstanding"] == 300_000.0


def test_open_alerts_are_only_the_callers_departments(
    api_server: str, samr: Who, tax: Who, firms: Firms
) -> None:
    def rules(who: Who) -> set[str]:
        with client(api_server, who) as c:
            body = c.get(f"/api/v1/enterprises/{firms.main}").json()
        return {a["rule_id"] for a in body["open_alerts"]}

    eventually(lambda: "tax_arrears" in rules(tax), timeout=60, what="tax_arrears alert")
    eventually(lambda: "dishonest_officer" in rules(samr), timeout=60, what="dishonest alert")
    assert "tax_arrears" not in rules(samr)
    assert "dishonest_officer" not in rules(tax)


def test_duty_officers_may_read_one_profile(
    api_server: str, people: Accounts, firms: Firms
) -> None:
    officer = people.make("samr", "duty_officer")
    with client(api_server, officer) as c:
        assert c.get(f"/api/v1/enterprises/{firms.main}").status_code == 200
        assert c.get(f"/api/v1/enterprises/{firms.main}/related").status_code == 200
        assert c.post("/api/v1/enterprises/batch", json={"usccs": [firms.main]}).status_code == 403


def test_unknown_is_404_and_invalid_is_422(api_server: str, samr: Who, firms: Firms) -> None:
    bad = firms.main[:-1] + ("0" if firms.main[-1] != "0" else "1")
    with client(api_server, samr) as c:
        assert c.get(f"/api/v1/enterprises/{firms.unknown}").status_code == 404
        invalid = c.get(f"/api/v1/enterprises/{bad}")
        assert invalid.status_code == 422
        assert "校验位" in invalid.json()["detail"]
        assert c.get("/api/v1/enterprises/short").status_code == 422
        assert c.get(f"/api/v1/enterprises/{firms.unknown}/related").status_code == 404


def test_the_batch_answers_every_code_in_its_row(
    api_server: str, samr: Who, tax: Who, firms: Firms
) -> None:
    bad = firms.main[:-1] + ("0" if firms.main[-1] != "0" else "1")
    codes = [firms.main, "not-a-code", firms.unknown, firms.twin, bad, firms.main.lower(), ""]
    with client(api_server, tax) as c:
        reply = c.post("/api/v1/enterprises/batch", json={"usccs": codes, "purpose": "欠税排查"})
    assert reply.status_code == 200
    rows = reply.json()["rows"]
    assert [r["status"] for r in rows] == [
        "ok",
        "invalid",
        "unknown",
        "ok",
        "invalid",
        "ok",
        "invalid",
    ]
    main = rows[0]
    assert main["grade"] in "ABCD"
    assert main["score"] is not None
    assert {"tax_arrears", "legal_rep_dishonest"} <= set(main["flags"])
    assert main["open_alerts"] == 1  # tax sees tax_arrears, not dishonest_officer
    assert rows[5]["uscc"] == firms.main
    assert rows[1]["reason"]
    assert reply.json()["counts"] == {"ok": 3, "invalid": 3, "unknown": 1}
    assert firms.boss["id_number"] not in reply.text
    with client(api_server, samr) as c:
        rows = c.post("/api/v1/enterprises/batch", json={"usccs": [firms.main]}).json()["rows"]
        profile = c.get(f"/api/v1/enterprises/{firms.main}").json()
    assert rows[0]["open_alerts"] == len(profile["open_alerts"])  # samr's, not tax's
    assert "tax_arrears" not in {a["rule_id"] for a in profile["open_alerts"]}


def test_a_batch_of_ten_thousand_is_quick_and_more_is_refused(
    api_server: str, samr: Who, firms: Firms
) -> None:
    f = EventFactory(source="batch-load", seed=99)
    codes = [f.uscc() for _ in range(9_998)] + [firms.main, firms.twin]
    with client(api_server, samr) as c:
        started = time.monotonic()
        reply = c.post("/api/v1/enterprises/batch", json={"usccs": codes})
        took = time.monotonic() - started
        assert reply.status_code == 200
        counts = reply.json()["counts"]
        assert counts.get("ok", 0) >= 2
        assert sum(counts.values()) == 10_000
        assert took < 15, took
        over = c.post("/api/v1/enterprises/batch", json={"usccs": [*codes, firms.plain]})
        assert over.status_code == 422


def test_related_and_expansion_name_their_links(api_server: str, samr: Who, firms: Firms) -> None:
    with client(api_server, samr) as c:
        related = c.get(f"/api/v1/enterprises/{firms.main}/related").json()
        twin = next(i for i in related["items"] if i["uscc"] == firms.twin)
        assert {"legal_rep", "address"} <= {link["kind"] for link in twin["links"]}
        assert firms.boss["id_number"] not in orjson.dumps(related).decode()
        expanded = c.post(
            "/api/v1/investigations/expand",
            json={"seeds": [firms.main, firms.unknown], "hops": 2},
        )
        assert expanded.status_code == 200
        body = expanded.json()
        assert body["seeds_unknown"] == [firms.unknown]
        assert firms.twin in [i["uscc"] for i in body["items"]]
        bad = c.post("/api/v1/investigations/expand", json={"seeds": ["nope"], "hops": 1})
        assert bad.status_code == 422
        assert (
            c.post(
                "/api/v1/investigations/expand", json={"seeds": [firms.main], "hops": 3}
            ).status_code
            == 422
        )
        too_many = c.post("/api/v1/investigations/expand", json={"seeds": [firms.main] * 1001})
        assert too_many.status_code == 422


def test_every_query_is_audited_with_its_purpose(
    api_server: str, people: Accounts, samr: Who, firms: Firms
) -> None:
    with client(api_server, samr) as c:
        c.get(f"/api/v1/enterprises/{firms.plain}", params={"purpose": "随机抽查前核实"})
    with client(api_server, people.oversight) as c:
        entries = c.get("/api/v1/audit", params={"target": firms.plain}).json()["items"]
        views = [e for e in entries if e["action"] == "enterprise.view"]
        assert views[0]["account_id"] == samr.account_id
        assert views[0]["purpose"] == "随机抽查前核实"
        batches = c.get(
            "/api/v1/audit", params={"action": "enterprise.batch", "account_id": samr.account_id}
        ).json()["items"]
        assert batches
        assert c.get("/api/v1/audit/verify").json()["ok"] is True


def test_the_grade_on_a_past_date_comes_with_its_factors(
    api_server: str, samr: Who, firms: Firms
) -> None:
    """The firms' facts are dated 2026-01-05 09:00 UTC (the factory's business time)."""
    with client(api_server, samr) as c:
        then = c.get(
            f"/api/v1/enterprises/{firms.main}/grade", params={"at": "2026-01-06T00:00:00Z"}
        )
        before = c.get(
            f"/api/v1/enterprises/{firms.main}/grade", params={"at": "2025-12-31T00:00:00Z"}
        )
    assert then.status_code == 200, then.text
    grade = then.json()
    assert grade["grade"] in ("C", "D")  # a dishonest legal representative and arrears
    assert grade["factors"]
    assert any("失信" in f["text_zh"] for f in grade["factors"])
    assert grade["at"] <= "2026-01-06T00:00:00Z"
    assert before.status_code == 404
