"""Rate limits on the query routes, through a real API process configured with small
budgets: past its budget a token gets 429 with ``Retry-After`` on batch, related, expand
and draws, while another token of the same department is still served."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.settings import Settings

from .api_kit import Accounts, Who, client
from .conftest import start_api

pytestmark = [pytest.mark.redis, pytest.mark.kafka]

BUDGET = 2
USCC = "91440300MA5D8XXXXX"
QUERIES: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "batch": ("POST", "/api/v1/enterprises/batch", {"usccs": [USCC]}),
    "related": ("GET", f"/api/v1/enterprises/{USCC}/related", None),
    "expand": ("POST", "/api/v1/investigations/expand", {"seeds": [USCC], "hops": 1}),
    "draws": (
        "POST",
        "/api/v1/inspections/draw",
        {"n": 1, "inspectors": [{"inspector_id": "E1"}, {"inspector_id": "E2"}]},
    ),
}


@pytest.fixture(scope="module")
def limited_api(settings: Settings, logs_dir: Path) -> Iterator[str]:
    budgets = {f"RISKWIRE_RATE_LIMIT_{q.upper()}_PER_MIN": str(BUDGET) for q in QUERIES}
    proc, base = start_api(settings, logs_dir / "api-rate-limits.log", **budgets)
    yield base
    proc.stop()


@pytest.fixture(scope="module")
def people(settings: Settings, limited_api: str) -> Accounts:
    return Accounts(settings, limited_api)


def _ask(c: httpx.Client, query: str) -> httpx.Response:
    method, path, body = QUERIES[query]
    return c.request(method, path, json=body)


@pytest.mark.parametrize("query", sorted(QUERIES))
def test_a_token_past_its_budget_gets_429_with_retry_after(
    limited_api: str, people: Accounts, query: str
) -> None:
    analyst = people.make("samr", "analyst", f"频繁查询员 {query}")
    colleague = people.make("samr", "analyst", f"同事 {query}")
    with client(limited_api, analyst) as c:
        served = [_ask(c, query) for _ in range(BUDGET)]
        assert all(r.status_code != 429 for r in served), [r.text for r in served]
        refused = _ask(c, query)
        assert refused.status_code == 429, refused.text
        retry_after = int(refused.headers["Retry-After"])
        assert 1 <= retry_after <= 60 // BUDGET
        assert "秒后重试" in refused.json()["detail"]
        other_kind = "related" if query != "related" else "batch"
        assert _ask(c, other_kind).status_code != 429
    with client(limited_api, colleague) as c:
        assert _ask(c, query).status_code != 429


def test_the_limits_are_in_the_openapi_document(limited_api: str) -> None:
    doc = httpx.get(f"{limited_api}/openapi.json").json()
    for method, path, _ in QUERIES.values():
        template = path.replace(USCC, "{uscc}")
        assert "429" in doc["paths"][template][method.lower()]["responses"]
    assert f"`POST /api/v1/enterprises/batch` {BUDGET}" in doc["info"]["description"]


def test_an_unknown_token_is_refused_before_spending_any_budget(limited_api: str) -> None:
    stranger = Who("", "rwt_not_a_token", "samr", "analyst")
    with client(limited_api, stranger) as c:
        assert {_ask(c, "batch").status_code for _ in range(BUDGET + 2)} == {401}
