""" "Double random, one public" through the real API over enterprises the real worker
graded: the caller cannot choose the seed, the candidates or the inspectors (the server
draws the seed from a CSPRNG and takes the rest from its records); the draw is recorded
with every input, readable by its department only, and re-verifies from its record alone
(the verify route and ``riskwire draws verify``), while a doctored record does not; a
deregistered enterprise is never drawn; an inspector is never paired with an enterprise
it declared a conflict with; only the department's admins set its roster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from core.settings import Settings
from simulate.factory import EventFactory

from .api_kit import Accounts, Who, cli, client, eventually, produce
from .conftest import Proc

pytestmark = [pytest.mark.redis, pytest.mark.kafka, pytest.mark.e2e]

TEAM = [{"inspector_id": f"E{i:03d}", "name": f"执法员{i}"} for i in range(6)]


@pytest.fixture(scope="module")
def analyst(people: Accounts) -> Who:
    return people.make("samr", "analyst", "抽查分析员")


@pytest.fixture(scope="module")
def admin(people: Accounts) -> Who:
    return people.make("samr", "admin", "抽查管理员")


def _set_roster(api_server: str, admin: Who, team: list[dict[str, Any]]) -> dict[str, Any]:
    with client(api_server, admin) as c:
        reply = c.put("/api/v1/inspections/inspectors", json={"items": team})
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


@pytest.fixture(scope="module")
def roster(api_server: str, admin: Who) -> dict[str, Any]:
    return _set_roster(api_server, admin, TEAM)


@pytest.fixture(scope="module")
def graded(settings: Settings, worker: Proc, api_server: str, analyst: Who) -> dict[str, str]:
    """Six live enterprises and one deregistered, all graded."""
    f = EventFactory(source="api-draws", seed=777)
    live = [f.uscc() for _ in range(6)]
    gone = f.uscc()
    events = [f.registered(u) for u in [*live, gone]]
    events.append(f.event("enterprise.deregistered", gone, {"reason": "决议解散"}))
    produce(settings, events)
    with client(api_server, analyst) as c:

        def done() -> bool:
            rows = c.post("/api/v1/enterprises/batch", json={"usccs": [*live, gone]}).json()
            return (
                all(r["grade"] for r in rows["rows"])
                and "deregistered" in rows["rows"][-1]["flags"]
            )

        eventually(done, timeout=90, what="graded enterprises")
    return {"gone": gone, **{f"live{i}": u for i, u in enumerate(live)}}


def _draw(c: Any, **body: Any) -> dict[str, Any]:
    reply = c.post("/api/v1/inspections/draw", json=body)
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def test_the_caller_cannot_choose_the_seed_the_candidates_or_the_inspectors(
    api_server: str, analyst: Who, roster: dict[str, Any], graded: dict[str, str]
) -> None:
    steered = [
        {"seed": "chosen-by-the-caller"},
        {"candidates": [{"uscc": graded["live0"], "grade": "A"}]},
        {"inspectors": [{"inspector_id": "FRIEND", "name": "自己人"}]},
    ]
    with client(api_server, analyst) as c:
        for extra in steered:
            reply = c.post("/api/v1/inspections/draw", json={"n": 1, **extra})
            assert reply.status_code == 422, (extra, reply.text)
        first, second = _draw(c, n=2), _draw(c, n=2)
    assert len(first["seed"]) == 64
    assert first["seed"] != second["seed"]
    assert {i["inspector_id"] for i in first["inspectors"]} == {t["inspector_id"] for t in TEAM}
    assert first["roster_version"] == roster["version"]


def test_a_draw_is_recorded_with_every_input_and_re_verifies(
    settings: Settings,
    api_server: str,
    people: Accounts,
    analyst: Who,
    roster: dict[str, Any],
    graded: dict[str, str],
    tmp_path: Path,
) -> None:
    with client(api_server, analyst) as c:
        first = _draw(c, n=4, title="第一季度抽查", purpose="季度计划")
        assert len(first["items"]) == 4
        assert len(first["candidates_hash"]) == len(first["inspectors_hash"]) == 64
        assert all(len(i["inspectors"]) == 2 for i in first["items"])
        assert graded["gone"] not in {i["uscc"] for i in first["items"]}
        url = f"/api/v1/inspections/draws/{first['draw_id']}"
        record = c.get(url, params={"candidates": True}).json()
        assert record["items"] == first["items"]
        assert record["seed"] == first["seed"]
        assert record["candidates_count"] == len(record["candidates"])
        assert c.get(f"{url}/verify").json() == {
            "draw_id": first["draw_id"],
            "ok": True,
            "problems": [],
        }
    published = tmp_path / "draw.json"
    published.write_bytes(orjson.dumps(record))
    verified = cli(settings, "draws", "verify", str(published), check=False)
    assert verified.returncode == 0, verified.stderr
    assert f"draw {first['draw_id']} verified" in verified.stdout
    doctored = {**record, "items": [*record["items"][1:], record["items"][0]]}
    published.write_bytes(orjson.dumps(doctored))
    assert cli(settings, "draws", "verify", str(published), check=False).returncode == 1
    other_seed = {**record, "seed": "0" * 64}
    published.write_bytes(orjson.dumps(other_seed))
    assert cli(settings, "draws", "verify", str(published), check=False).returncode == 1
    officer = people.make("samr", "duty_officer")
    with client(api_server, officer) as c:
        assert c.get(f"/api/v1/inspections/draws/{first['draw_id']}").status_code == 200
    stranger = people.make("tax", "analyst")
    with client(api_server, stranger) as c:
        assert c.get(f"/api/v1/inspections/draws/{first['draw_id']}").status_code == 404
        assert c.get(f"/api/v1/inspections/draws/{first['draw_id']}/verify").status_code == 404
        assert c.get("/api/v1/inspections/draws/01NOSUCHDRAW").status_code == 404


def test_a_full_draw_takes_every_live_enterprise_and_excludes_the_deregistered(
    api_server: str, analyst: Who, roster: dict[str, Any], graded: dict[str, str]
) -> None:
    quotas = {"A": 100, "B": 100, "C": 100, "D": 100}
    with client(api_server, analyst) as c:
        full = _draw(c, quotas=quotas)
    drawn = {i["uscc"] for i in full["items"]}
    assert {u for k, u in graded.items() if k.startswith("live")} <= drawn
    assert graded["gone"] not in drawn
    assert {"uscc": graded["gone"], "reason": "企业已注销"} in full["excluded"]
    assert sum(a["drawn"] for a in full["allocation"]) == len(full["items"])


def test_conflicted_inspectors_are_never_paired(
    api_server: str, admin: Who, analyst: Who, roster: dict[str, Any], graded: dict[str, str]
) -> None:
    live = [u for k, u in graded.items() if k.startswith("live")]
    team = [{**TEAM[0], "conflicts": live}, {**TEAM[1], "conflicts": live}, *TEAM[2:]]
    _set_roster(api_server, admin, team)
    try:
        with client(api_server, analyst) as c:
            full = _draw(c, quotas={"A": 100, "B": 100, "C": 100, "D": 100})
            assert c.get(f"/api/v1/inspections/draws/{full['draw_id']}/verify").json()["ok"]
    finally:
        _set_roster(api_server, admin, TEAM)
    for item in full["items"]:
        if item["uscc"] in live:
            ids = {i["inspector_id"] for i in item["inspectors"]}
            assert not ids & {"E000", "E001"}


def test_only_the_departments_admins_set_its_roster(
    api_server: str, people: Accounts, admin: Who, analyst: Who, roster: dict[str, Any]
) -> None:
    with client(api_server, analyst) as c:
        assert c.get("/api/v1/inspections/inspectors").json()["version"] >= roster["version"]
        refused = c.put("/api/v1/inspections/inspectors", json={"items": TEAM[:1]})
        assert refused.status_code == 403
    with client(api_server, admin) as c:
        twice = c.put("/api/v1/inspections/inspectors", json={"items": [TEAM[0], TEAM[0]]})
        assert twice.status_code == 422
        version = c.get("/api/v1/inspections/inspectors").json()["version"]
        stale = c.put(
            "/api/v1/inspections/inspectors",
            json={"items": TEAM, "expected_version": version + 5},
        )
        assert stale.status_code == 409
        entries = c.get("/api/v1/audit", params={"action": "inspection.inspectors_update"})
        assert entries.json()["items"][0]["target"] == "samr"
    stranger = people.make("tax", "analyst")
    with client(api_server, stranger) as c:
        assert c.get("/api/v1/inspections/inspectors").json()["items"] == []


def test_bad_draws_are_refused(
    api_server: str, people: Accounts, analyst: Who, roster: dict[str, Any]
) -> None:
    with client(api_server, analyst) as c:
        quota = c.post("/api/v1/inspections/draw", json={"quotas": {"D": 101}})
        assert quota.status_code == 422
        grade = c.post("/api/v1/inspections/draw", json={"grades": ["Z"]})
        assert grade.status_code == 422
    rosterless = people.make("court", "analyst")
    with client(api_server, rosterless) as c:
        reply = c.post("/api/v1/inspections/draw", json={"n": 1})
        assert reply.status_code == 409
        assert "执法人员名录" in reply.json()["detail"]
