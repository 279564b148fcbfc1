"""The alert listing through the real API on real Redis: it reads the time-ordered indices
(never the whole store), pages with an opaque cursor without duplicates or gaps while
alerts are written, answers each filter exactly, never shows a department another's
alerts, and the backfill indexes alerts stored before the indices existed."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis as redis_sync
from ulid import ULID

from alerts.index import AlertQuery, decode_cursor, list_page
from alerts.store import DOC_KEY, REV_KEY
from core.redis_client import redis_client, sync_client
from core.settings import Settings
from streams.alert import Alert, AlertStatus, Severity

from .api_kit import Accounts, Who, cli, client, new_alert, seed_alert, store_alert

pytestmark = [pytest.mark.redis, pytest.mark.kafka]


@pytest.fixture(scope="module")
def samr(people: Accounts) -> Who:
    return people.make("samr", "duty_officer", "市场监管值班员")


def _rule() -> str:
    return f"test_{str(ULID()).lower()}"


def _all_pages(c: Any, params: dict[str, Any], *, during: Any = None) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        reply = c.get("/api/v1/alerts", params={**params, **({"cursor": cursor} if cursor else {})})
        reply.raise_for_status()
        page = reply.json()
        seen += [a["alert_id"] for a in page["items"]]
        if during:
            during()
        cursor = page["next"]
        if cursor is None:
            return seen


def _listing(settings: Settings, departments: list[str], rule: str, uscc: str) -> Alert:
    """A stored alert of ``rule`` whose enterprises include ``uscc`` (besides its subject)."""
    alert = new_alert(departments, rule_id=rule)
    alert = alert.model_copy(update={"enterprises": [*alert.enterprises, uscc]})
    asyncio.run(store_alert(settings, alert))
    return alert


def _hscans(r: redis_sync.Redis) -> int:
    stats: Any = r.info("commandstats")
    return int(stats.get("cmdstat_hscan", {}).get("calls", 0))


def test_pages_have_no_duplicates_or_gaps_while_alerts_are_written(
    settings: Settings, api_server: str, samr: Who
) -> None:
    rule = _rule()
    before = [seed_alert(settings, ["samr", "qianhai-authority"], rule_id=rule) for _ in range(40)]
    written: list[Alert] = []
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set() and len(written) < 60:
            written.append(seed_alert(settings, ["samr"], rule_id=rule))

    sync = sync_client(settings.redis_url)
    hscans = _hscans(sync)
    thread = threading.Thread(target=writer)
    with client(api_server, samr) as c:
        thread.start()
        try:
            seen = _all_pages(c, {"rule_id": rule, "limit": 7})
        finally:
            stop.set()
            thread.join()
    assert len(written) > 0, "alerts were written while the listing paged"
    assert len(seen) == len(set(seen)), "an alert listed twice"
    assert seen == sorted(seen, reverse=True), "newest first, across pages"
    assert {a.alert_id for a in before} <= set(seen), "an alert stored before the listing missed"
    assert _hscans(sync) == hscans, "the listing scanned the whole alert store"
    sync.close()


def test_each_filter_answers_exactly_its_alerts(
    settings: Settings, api_server: str, samr: Who
) -> None:
    rule, uscc = _rule(), "91440300MA5DA1B2XK"
    now = datetime.now(UTC)
    made: list[Alert] = []
    for i in range(12):
        alert = new_alert(["samr"], rule_id=rule)
        alert = alert.model_copy(
            update={
                "severity": Severity.CRITICAL if i % 3 == 0 else Severity.LOW,
                "event_time": now - timedelta(days=30 * (i % 2)),
                "enterprises": alert.enterprises + ([uscc] if i % 4 == 0 else []),
            }
        )
        asyncio.run(store_alert(settings, alert))
        made.append(alert)
    with client(api_server, samr) as c:
        for a in made[:3]:
            c.post(f"/api/v1/alerts/{a.alert_id}/dismiss").raise_for_status()
        c.post(f"/api/v1/alerts/{made[3].alert_id}/acknowledge").raise_for_status()
        status = {a.alert_id: "open" for a in made} | {a.alert_id: "dismissed" for a in made[:3]}
        status[made[3].alert_id] = "acknowledged"
        cases: list[tuple[dict[str, str], set[str]]] = [
            ({"status": "dismissed"}, {a for a, s in status.items() if s == "dismissed"}),
            ({"status": "open"}, {a for a, s in status.items() if s == "open"}),
            ({"severity": "critical"}, {a.alert_id for a in made if a.severity == "critical"}),
            ({"uscc": uscc}, {a.alert_id for a in made if uscc in a.enterprises}),
            ({"since": (now - timedelta(days=1)).isoformat()}, {a.alert_id for a in made[::2]}),
            ({"until": (now - timedelta(days=1)).isoformat()}, {a.alert_id for a in made[1::2]}),
            (
                {"status": "open", "severity": "low"},
                {a.alert_id for a in made if a.severity == "low" and status[a.alert_id] == "open"},
            ),
        ]
        for params, expected in cases:
            got = _all_pages(c, {"rule_id": rule, "limit": 2, **params})
            assert set(got) == expected, params
            assert len(got) == len(expected), params
        other = _all_pages(c, {"rule_id": _rule()})
        assert other == []


def test_a_department_never_sees_another_departments_alerts(
    settings: Settings, api_server: str, people: Accounts, samr: Who
) -> None:
    rule, uscc = _rule(), "91440300MA5DA1B2XL"
    ours = [_listing(settings, ["samr", "qianhai-authority"], rule, uscc)]
    theirs = [_listing(settings, ["tax"], rule, uscc) for _ in range(3)]
    tax = people.make("tax", "duty_officer")
    officer = people.make("qianhai-authority", "duty_officer")
    combos: list[dict[str, str]] = [
        {"rule_id": rule},
        {"uscc": uscc},
        {"rule_id": rule, "status": "open"},
        {"uscc": uscc, "severity": "high"},
    ]
    for who, visible in (
        (samr, ours),
        (tax, theirs),
        (officer, ours),
        (people.oversight, ours + theirs),
    ):
        with client(api_server, who) as c:
            for params in combos:
                got = set(_all_pages(c, params))
                assert got & {a.alert_id for a in ours + theirs} == {a.alert_id for a in visible}, (
                    who.department,
                    who.role,
                    params,
                )


def test_the_cursor_is_opaque_and_checked(settings: Settings, api_server: str, samr: Who) -> None:
    rule = _rule()
    alerts = [seed_alert(settings, ["samr"], rule_id=rule) for _ in range(3)]
    with client(api_server, samr) as c:
        page = c.get("/api/v1/alerts", params={"rule_id": rule, "limit": 1}).json()
        assert page["next"] not in {a.alert_id for a in alerts}
        assert decode_cursor(page["next"]) == page["items"][0]["alert_id"]
        for bad in (alerts[0].alert_id, "c1.!!!", "c1." + "A" * 100, "x" * 129):
            assert c.get("/api/v1/alerts", params={"cursor": bad}).status_code == 422, bad


async def test_a_narrow_filter_pages_in_bounded_steps(settings: Settings) -> None:
    """A filter that few candidates of the index match: each request examines at most
    ``budget`` candidates, answers a short page with a cursor, and the pages together are
    exactly the matches."""
    rule, long_ago = _rule(), datetime(2020, 1, 1, tzinfo=UTC)
    redis = redis_client(settings.redis_url)
    try:
        matching: list[str] = []
        for i in range(30):
            alert = new_alert(["samr"], rule_id=rule)
            if i % 10 == 0:
                alert = alert.model_copy(update={"event_time": long_ago})
                matching.append(alert.alert_id)
            await store_alert(settings, alert)
        query = AlertQuery("samr", rule_id=rule, until=long_ago + timedelta(days=1))
        seen, after, requests = [], None, 0
        while True:
            page = await list_page(redis, query, after=after, limit=5, budget=4)
            requests += 1
            assert len(page.docs) <= 4
            seen += [Alert.model_validate_json(d).alert_id for d in page.docs]
            if page.next is None:
                break
            after = decode_cursor(page.next)
        assert seen == sorted(matching, reverse=True)
        assert requests >= 30 // 4
    finally:
        await redis.aclose()


def test_the_backfill_indexes_alerts_stored_before_the_indices(
    settings: Settings, api_server: str, samr: Who
) -> None:
    rule = _rule()
    old = [new_alert(["samr"], rule_id=rule) for _ in range(3)]
    old[0] = old[0].model_copy(update={"status": AlertStatus.RESOLVED})
    sync = sync_client(settings.redis_url)
    for a in old:  # as a version without the indices stored them
        sync.hset(DOC_KEY, a.alert_id, a.model_dump_json())
        sync.hset(REV_KEY, a.alert_id, a.revision)
    with client(api_server, samr) as c:
        assert _all_pages(c, {"rule_id": rule}) == []
        out = cli(settings, "alerts", "reindex")
        assert "indexed" in out.stdout
        listed = _all_pages(c, {"rule_id": rule})
        assert listed == sorted((a.alert_id for a in old), reverse=True)
        closed = _all_pages(c, {"rule_id": rule, "status": "resolved"})
        assert closed == [old[0].alert_id]
    assert sync.zscore("rw:{alerts}:closed:v1", old[0].alert_id) is not None
    sync.close()
