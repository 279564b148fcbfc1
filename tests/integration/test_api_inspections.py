""" "Double random, one public" through the real API over enterprises the real worker
graded: the draw is recorded and readable by its department only; re-run on its recorded
candidates with its seed it gives the same list; a deregistered enterprise is never
drawn; an inspector is never paired with an enterprise it declared a conflict with."""

from __future__ import annotations

from typing import Any

import pytest

from core.settings import Settings
from streams.factory import EventFactory

from .api_kit import Accounts, Who, client, eventually, produce
from .conftest import Proc

pytestmark = [pytest.mark.redis, pytest.mark.kafka, pytest.mark.e2e]

TEAM = [{"inspector_id": f"E{i:03d}", "name": f"执法员{i}"} for i in range(6)]


@pytest.fixture(scope="module")
def people(settings: Settings, api_server: str) -> Accounts:
    return Accounts(settings, api_server)


@pytest.fixture(scope="module")
def analyst(people: Accounts) -> Who:
    return people.make("samr", "analyst", "抽查分析员")


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
    reply = c.post("/api/v1/inspections/draw", json={"inspectors": TEAM, **body})
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def test_a_draw_is_recorded_and_re_runs_the_same(
    api_server: str, people: Accounts, analyst: Who, graded: dict[str, str]
) -> None:
    with client(api_server, analyst) as c:
        first = _draw(c, n=4, seed="2026-Q1-samr", title="第一季度抽查", purpose="季度计划")
        assert len(first["items"]) == 4
        assert first["seed"] == "2026-Q1-samr"
        assert len(first["candidates_hash"]) == 64
        assert all(len(i["inspectors"]) == 2 for i in first["items"])
        assert graded["gone"] not in {i["uscc"] for i in first["items"]}
        recorded = c.get(
            f"/api/v1/inspections/draws/{first['draw_id']}", params={"candidates": True}
        )
        assert recorded.status_code == 200
        record = recorded.json()
        assert record["items"] == first["items"]
        assert record["candidates_count"] == len(record["candidates"])
        again = _draw(c, n=4, seed="2026-Q1-samr", candidates=record["candidates"])
        assert again["items"] == first["items"]
        assert again["candidates_hash"] == first["candidates_hash"]
        assert again["draw_id"] != first["draw_id"]
        other_seed = _draw(c, n=4, seed="another", candidates=record["candidates"])
        assert other_seed["candidates_hash"] == first["candidates_hash"]
        generated = _draw(c, n=2)
        assert len(generated["seed"]) == 32
    officer = people.make("samr", "duty_officer")
    with client(api_server, officer) as c:
        assert c.get(f"/api/v1/inspections/draws/{first['draw_id']}").status_code == 200
    stranger = people.make("tax", "analyst")
    with client(api_server, stranger) as c:
        assert c.get(f"/api/v1/inspections/draws/{first['draw_id']}").status_code == 404
        assert c.get("/api/v1/inspections/draws/01NOSUCHDRAW").status_code == 404


def test_a_full_draw_takes_every_live_enterprise_and_excludes_the_deregistered(
    api_server: str, analyst: Who, graded: dict[str, str]
) -> None:
    quotas = {"A": 100, "B": 100, "C": 100, "D": 100}
    with client(api_server, analyst) as c:
        full = _draw(c, quotas=quotas, seed="all")
    drawn = {i["uscc"] for i in full["items"]}
    assert {u for k, u in graded.items() if k.startswith("live")} <= drawn
    assert graded["gone"] not in drawn
    assert {"uscc": graded["gone"], "reason": "企业已注销"} in full["excluded"]
    assert sum(a["drawn"] for a in full["allocation"]) == len(full["items"])


def test_conflicted_inspectors_are_never_paired(
    api_server: str, analyst: Who, graded: dict[str, str]
) -> None:
    live = [u for k, u in graded.items() if k.startswith("live")]
    team = [{**TEAM[0], "conflicts": live}, {**TEAM[1], "conflicts": live}, *TEAM[2:]]
    quotas = {"A": 100, "B": 100, "C": 100, "D": 100}
    with client(api_server, analyst) as c:
        body = {"inspectors": team, "quotas": quotas, "seed": "conflicts"}
        reply = c.post("/api/v1/inspections/draw", json=body)
    assert reply.status_code == 201
    for item in reply.json()["items"]:
        if item["uscc"] in live:
            ids = {i["inspector_id"] for i in item["inspectors"]}
            assert not ids & {"E000", "E001"}


def test_bad_draws_are_refused(api_server: str, analyst: Who) -> None:
    with client(api_server, analyst) as c:
        twice = c.post("/api/v1/inspections/draw", json={"inspectors": [TEAM[0], TEAM[0]]})
        assert twice.status_code == 422
        none = c.post("/api/v1/inspections/draw", json={"inspectors": []})
        assert none.status_code == 422
        bad = c.post(
            "/api/v1/inspections/draw",
            json={"inspectors": TEAM, "candidates": [{"uscc": "nope", "grade": "A"}]},
        )
        assert bad.status_code == 422
        quota = c.post("/api/v1/inspections/draw", json={"inspectors": TEAM, "quotas": {"D": 101}})
        assert quota.status_code == 422
