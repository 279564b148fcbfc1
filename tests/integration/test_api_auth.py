"""Who may do what, against the real API process: every operation of the OpenAPI document
(but health and metrics) answers 401 to a missing, malformed, unknown or revoked token,
whatever the spelling of the header; each role gets 403 where api.md says it has no right;
admins manage only their own department's accounts (oversight admins every one)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from core.settings import Settings

from .api_kit import Accounts, cli, client

pytestmark = [pytest.mark.redis, pytest.mark.kafka]

PUBLIC = {"/healthz", "/readyz", "/metrics", "/"}
DUMMY = {"uscc": "91350100M000100Y43", "rule_id": "tax_arrears"}


@pytest.fixture(scope="module")
def operations(api_server: str) -> list[tuple[str, str]]:
    doc = httpx.get(f"{api_server}/openapi.json", timeout=30).json()
    ops = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if path in PUBLIC or method not in ("get", "post", "put", "delete", "patch"):
                continue
            # Bearer routes; a route that authenticates otherwise (a signed inbound
            # webhook) documents no bearer security and is tested where it lives.
            if any("HTTPBearer" in s for s in op.get("security", [])):
                ops.append((method.upper(), path))
    return ops


def _url(path: str) -> str:
    for name, value in DUMMY.items():
        path = path.replace("{" + name + "}", value)
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        path = path[:start] + "01TESTID" + path[end + 1 :]
    return path


def _call(base: str, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    body: Any = {} if method in ("POST", "PUT", "PATCH") else None
    return httpx.request(method, base + _url(path), headers=headers, json=body, timeout=30)


def test_every_path_of_api_md_needs_a_bearer_token(operations: list[tuple[str, str]]) -> None:
    listed = set(operations)
    for op in [
        ("GET", "/api/v1/enterprises/{uscc}"),
        ("POST", "/api/v1/enterprises/batch"),
        ("GET", "/api/v1/enterprises/{uscc}/related"),
        ("POST", "/api/v1/investigations/expand"),
        ("GET", "/api/v1/alerts"),
        ("POST", "/api/v1/alerts/{alert_id}/acknowledge"),
        ("POST", "/api/v1/alerts/{alert_id}/assign"),
        ("POST", "/api/v1/alerts/{alert_id}/resolve"),
        ("POST", "/api/v1/alerts/{alert_id}/dismiss"),
        ("POST", "/api/v1/inspections/draw"),
        ("POST", "/api/v1/enforcement/uploads"),
        ("GET", "/api/v1/rules"),
        ("PUT", "/api/v1/rules/{rule_id}"),
        ("POST", "/api/v1/ws-tickets"),
        ("GET", "/api/v1/accounts"),
        ("POST", "/api/v1/accounts/{account_id}/revoke"),
        ("GET", "/api/v1/audit"),
    ]:
        assert op in listed, op


def _bad_headers(valid: str) -> Iterator[tuple[str, dict[str, str]]]:
    yield "missing", {}
    yield "empty", {"Authorization": ""}
    yield "no scheme", {"Authorization": valid}
    yield "no space", {"Authorization": f"Bearer{valid}"}
    yield "basic", {"Authorization": f"Basic {valid}"}
    yield "token scheme", {"Authorization": f"Token {valid}"}
    yield "scheme only", {"Authorization": "Bearer"}
    yield "unknown", {"Authorization": "Bearer rwt_not-a-real-token"}
    yield "double space unknown", {"Authorization": "Bearer  rwt_not-a-real-token"}
    yield "lower case unknown", {"Authorization": "bearer rwt_not-a-real-token"}
    yield "upper case unknown", {"Authorization": "BEARER rwt_not-a-real-token"}
    yield "truncated", {"Authorization": f"Bearer {valid[:-1]}"}
    yield "extended", {"Authorization": f"Bearer {valid}x"}
    yield "two tokens", {"Authorization": f"Bearer {valid} {valid}"}


def test_every_operation_refuses_a_missing_or_wrong_token(
    api_server: str, people: Accounts, operations: list[tuple[str, str]]
) -> None:
    valid = people.oversight.token
    failures = []
    for method, path in operations:
        for what, headers in _bad_headers(valid):
            reply = _call(api_server, method, path, headers)
            if reply.status_code != 401:
                failures.append((method, path, what, reply.status_code))
            elif reply.headers.get("www-authenticate") != "Bearer":
                failures.append((method, path, what, "no WWW-Authenticate"))
    assert failures == []


def test_a_revoked_account_is_refused_everywhere(
    settings: Settings, api_server: str, people: Accounts, operations: list[tuple[str, str]]
) -> None:
    victim = people.make("samr", "admin", "即将撤销")
    with client(api_server, victim) as c:
        assert c.get("/api/v1/alerts").status_code == 200
    with client(api_server, people.oversight) as c:
        reply = c.post(f"/api/v1/accounts/{victim.account_id}/revoke")
        assert reply.status_code == 200
        assert reply.json()["revoked"] is True
    for method, path in operations:
        assert _call(api_server, method, path, victim.headers).status_code == 401, (method, path)
    # The command line revokes by id too.
    other = people.make("tax", "analyst", "命令行撤销")
    out = cli(settings, "accounts", "revoke-id", other.account_id)
    assert other.account_id in out.stdout
    with client(api_server, other) as c:
        assert c.get("/api/v1/alerts").status_code == 401
    assert cli(settings, "accounts", "revoke-id", "NO-SUCH-ID", check=False).returncode == 1


def test_the_scheme_is_case_insensitive_for_a_valid_token(
    api_server: str, people: Accounts
) -> None:
    token = people.make("samr", "duty_officer").token
    for header in (f"Bearer {token}", f"bearer {token}", f"BEARER {token}"):
        reply = httpx.get(f"{api_server}/api/v1/alerts", headers={"Authorization": header})
        assert reply.status_code == 200


ROLE_RULES: list[tuple[str, str, set[str]]] = [
    # (method, path, roles refused with 403)
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge", {"analyst"}),
    ("POST", "/api/v1/alerts/{alert_id}/assign", {"analyst"}),
    ("POST", "/api/v1/alerts/{alert_id}/resolve", {"analyst"}),
    ("POST", "/api/v1/alerts/{alert_id}/dismiss", {"analyst"}),
    ("POST", "/api/v1/enterprises/batch", {"duty_officer"}),
    ("POST", "/api/v1/investigations/expand", {"duty_officer"}),
    ("POST", "/api/v1/inspections/draw", {"duty_officer"}),
    ("GET", "/api/v1/rules", {"duty_officer", "analyst"}),
    ("PUT", "/api/v1/rules/{rule_id}", {"duty_officer", "analyst", "admin"}),  # samr's admin
    ("GET", "/api/v1/accounts", {"duty_officer", "analyst"}),
    ("POST", "/api/v1/accounts", {"duty_officer", "analyst"}),
    ("POST", "/api/v1/accounts/{account_id}/revoke", {"duty_officer", "analyst"}),
    ("GET", "/api/v1/accounts/assignees", {"analyst"}),
    ("GET", "/api/v1/audit", {"duty_officer", "analyst"}),
    ("GET", "/api/v1/audit/verify", {"duty_officer", "analyst"}),
    ("GET", "/api/v1/alerts", set()),
    ("GET", "/api/v1/alerts/{alert_id}", set()),
    ("GET", "/api/v1/enterprises/{uscc}", set()),
    ("GET", "/api/v1/enterprises/{uscc}/related", set()),
    ("GET", "/api/v1/inspections/draws/{draw_id}", set()),
    ("GET", "/api/v1/inspections/draws/{draw_id}/verify", set()),
    ("GET", "/api/v1/inspections/inspectors", {"duty_officer"}),
    ("PUT", "/api/v1/inspections/inspectors", {"duty_officer", "analyst"}),
    ("POST", "/api/v1/enforcement/uploads", set()),
    ("POST", "/api/v1/ws-tickets", set()),
]


def test_each_role_is_refused_where_it_has_no_right(api_server: str, people: Accounts) -> None:
    roles = {r: people.make("samr", r) for r in ("duty_officer", "analyst", "admin")}
    failures = []
    for method, path, refused in ROLE_RULES:
        for role, who in roles.items():
            code = _call(api_server, method, path, who.headers).status_code
            if (code == 403) != (role in refused) or code == 401 or code >= 500:
                failures.append((method, path, role, code))
    assert failures == []


def test_admins_manage_only_their_departments_accounts(api_server: str, people: Accounts) -> None:
    samr_admin = people.make("samr", "admin", "市场监管管理员")
    tax_officer = people.make("tax", "duty_officer", "税务值班员")
    samr_officer = people.make("samr", "duty_officer", "市场监管值班员")
    with client(api_server, samr_admin) as c:
        listed = c.get("/api/v1/accounts", params={"department": "tax"}).json()["items"]
        assert {a["department"] for a in listed} == {"samr"}
        assert samr_officer.account_id in {a["account_id"] for a in listed}
        assert all("token" not in a for a in listed)
        assert c.post(f"/api/v1/accounts/{tax_officer.account_id}/revoke").status_code == 404
        made = c.post(
            "/api/v1/accounts", json={"name": "x", "role": "analyst", "department": "tax"}
        )
        assert made.status_code == 403
        made = c.post("/api/v1/accounts", json={"name": "x", "role": "analyst"})
        assert made.status_code == 201
        assert made.json()["department"] == "samr"
        assert made.json()["token"].startswith("rwt_")
    with client(api_server, people.oversight) as c:
        listed = c.get("/api/v1/accounts").json()["items"]
        assert {"samr", "tax"} <= {a["department"] for a in listed}
    with client(api_server, samr_officer) as c:
        mates = c.get("/api/v1/accounts/assignees").json()["items"]
        assert {a["department"] for a in mates} == {"samr"}
