"""The board's shadow-rules panel: a platform admin sees, in zh-CN, what a candidate rules
version would add and drop per rule (GET /api/v1/rules/shadow/diff); anyone else, whom the
API answers 403, sees no panel; and the panel never puts anything in the alert list."""

from __future__ import annotations

from typing import Any

from .test_board import FakeBackend, open_board, seeded

try:
    from playwright.async_api import expect
except ImportError:  # the conftest reports the missing browser
    expect = None

DIFF = {
    "loaded": True,
    "version": "c-0123456789ab",
    "generation": 3,
    "loaded_at": "2026-12-06T08:00:00+00:00",
    "config_version": 7,
    "tracked": 12,
    "untracked": 0,
    "rules": [
        {
            "rule_id": "tax_arrears",
            "departments": ["tax", "qianhai-authority"],
            "added": 4,
            "dropped": 0,
        },
        {
            "rule_id": "unreachable_contact",
            "departments": ["samr", "qianhai-authority"],
            "added": 0,
            "dropped": 1,
        },
    ],
    "departments": [],
    "kind": "added",
    "examples": [
        {
            "fingerprint": "tax_arrears:enterprise:91440300MA5DA1B2XK",
            "rule_id": "tax_arrears",
            "subject": {"kind": "enterprise", "id": "91440300MA5DA1B2XK"},
            "severity": "high",
            "title": "某公司：欠税70,000元",
            "enterprises": ["91440300MA5DA1B2XK"],
            "event_id": "e1",
            "event_type": "tax.arrears_recorded",
            "event_time": "2026-12-01T00:00:00+00:00",
        }
    ],
    "next_cursor": None,
}


class ShadowBackend(FakeBackend):
    diff: tuple[int, Any] = (200, DIFF)

    async def _answer(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        if path == "/api/v1/rules/shadow/diff" and method == "GET":
            return self.diff
        return await super()._answer(method, path, query, body)


async def test_a_platform_admin_sees_the_shadow_diff(page: Any) -> None:
    backend = ShadowBackend(**seeded(3).__dict__)
    await open_board(page, backend)
    panel = page.get_by_test_id("shadow-diff")
    await expect(panel).to_be_visible()
    await expect(panel.locator("summary")).to_have_text(
        "影子规则 c-0123456789ab：将新增 4 条、减少 1 条告警"
    )
    await panel.locator("summary").click()
    tax = panel.locator('[data-testid=shadow-rule][data-rule="tax_arrears"]')
    await expect(tax).to_contain_text("欠税")
    await expect(tax).to_contain_text("税务")
    await expect(tax.locator(".added")).to_have_text("4")
    await expect(panel).to_contain_text("91440300MA5DA1B2XK")
    await expect(page.get_by_test_id("alert-row")).to_have_count(3)  # nothing joined the list
    await expect(panel.get_by_test_id("shadow-grades")).to_have_count(0)  # no [grading]


async def test_a_candidate_with_grade_weights_shows_the_letters_that_move(page: Any) -> None:
    matrix = {a: {b: 0 for b in "ABCD"} for a in "ABCD"}
    matrix["B"]["B"], matrix["C"]["B"] = 5, 3
    grades = {"tracked": 8, "untracked": 0, "changed": 3, "matrix": matrix}
    backend = ShadowBackend(**seeded(1).__dict__)
    backend.diff = (200, DIFF | {"grades": grades | {"transitions": [], "examples": []}})
    await open_board(page, backend)
    panel = page.get_by_test_id("shadow-diff")
    await panel.locator("summary").click()
    await expect(panel).to_contain_text("信用等级将变化的企业：3 家")
    row = panel.locator('[data-testid=shadow-grades] tr[data-live="C"]')
    await expect(row.locator("td")).to_have_text(["0", "3", "0", "0"])


async def test_no_panel_for_anyone_else(page: Any) -> None:
    backend = ShadowBackend(**seeded(2).__dict__)
    backend.diff = (403, {"detail": "only qianhai-authority admins"})
    await open_board(page, backend)
    await expect(page.get_by_test_id("alert-row")).to_have_count(2)
    await expect(page.get_by_test_id("shadow-diff")).to_be_hidden()
