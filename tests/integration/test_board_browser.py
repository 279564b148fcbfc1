"""The duty officer's board in a real Chromium against the real worker, API and Kafka: a
director listed as a dishonest debtor fires ``dishonest_officer``, and the alert appears on
the open board without a reload, with the critical banner and a beep; the officer opens the
enterprise's drill-down and acknowledges the alert from the board.

It lives here, not in ``tests/browser/``, to share this directory's session fixtures (one
stack, one worker, one API): a conftest elsewhere that re-exported them would make a second
session instance of each (a second worker on the same Redis database). The scripted-backend
tests of the board are in ``tests/browser/test_board.py``.

Screenshots: ``build/board.png`` (the live alert, banner up) and ``build/board-drilldown.png``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.settings import Settings
from simulate.factory import EventFactory

from .conftest import ROOT, Proc, child_env
from .feed_kit import produce

pytestmark = [pytest.mark.kafka, pytest.mark.redis, pytest.mark.e2e]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BUILD = ROOT / "build"
LAUNCH_ARGS = [  # as in tests/browser/conftest.py
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
COUNT_BEEPS = """
(() => {
  window.__oscillators = 0;
  const AC = window.AudioContext;
  if (!AC) return;
  const create = AC.prototype.createOscillator;
  AC.prototype.createOscillator = function () { window.__oscillators++; return create.call(this); };
})();
"""
NOTE = "已核实失信名单，通知登记窗口"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: browser tests fail instead of skipping)")
    pytest.skip(reason)


@pytest.fixture
async def board_page() -> AsyncIterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        _unavailable(
            "Debian's chromium is not installed (apt-get install -y chromium fonts-noto-cjk)"
        )
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    args = LAUNCH_ARGS + (["--no-sandbox"] if os.geteuid() == 0 else [])
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=args)
        context = await browser.new_context(
            viewport={"width": 1440, "height": 900},
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            color_scheme="dark",
        )
        await context.add_init_script(COUNT_BEEPS)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
        await browser.close()
        assert not errors, f"uncaught errors in the board: {errors}"


def _create_token(settings: Settings, department: str) -> str:
    out = subprocess.run(
        [
            *(sys.executable, "-m", "cli", "accounts", "create"),
            *("--department", department, "--role", "duty_officer", "--name", "board officer"),
        ],
        env=child_env(settings),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return out.strip().splitlines()[-1]


async def test_board_shows_a_live_critical_alert_and_acknowledges_it(
    settings: Settings, worker: Proc, api_server: str, board_page: Any
) -> None:
    from playwright.async_api import expect

    page = board_page
    BUILD.mkdir(exist_ok=True)
    f = EventFactory(source="samr-board", seed=707)
    director = f.person("director")
    firm = f.uscc()
    produce(settings, [f.registered(firm, officers=[director])])
    token = _create_token(settings, "samr")

    await page.goto(api_server + "/")
    await page.get_by_test_id("token-input").fill(token)
    await page.get_by_test_id("sign-in").click()
    await expect(page.get_by_test_id("conn-state")).to_have_attribute(
        "data-state", "connected", timeout=15_000
    )
    await page.evaluate("window.__sameDocument = true")
    navigations: list[str] = []
    page.on(
        "framenavigated", lambda fr: navigations.append(fr.url) if fr == page.main_frame else None
    )

    # The director is listed as a dishonest debtor: a critical alert, live.
    fired = time.perf_counter()
    produce(settings, [f.debtor_listed_person(director)])
    row = page.locator(
        f'[data-testid=alert-row][data-rule-id=dishonest_officer][data-subject="{firm}"]'
    )
    await expect(row).to_be_visible(timeout=60_000)
    print(
        f"\nalert on the board {time.perf_counter() - fired:.2f} s after the listing was produced"
    )
    assert await page.evaluate("window.__sameDocument === true"), "the board reloaded"
    assert navigations == [], f"the board navigated: {navigations}"
    await expect(row).to_have_attribute("data-severity", "critical")
    await expect(row).to_have_attribute("data-status", "open")
    await expect(page.get_by_test_id("alert-row").first).to_have_attribute("data-subject", firm)
    banner = page.get_by_test_id("critical-banner")
    await expect(banner).to_be_visible()
    assert await page.evaluate("window.__oscillators") >= 2, "no beep for the critical alert"
    alert_id = await row.get_attribute("data-alert-id")

    await row.locator(".sum").click()
    await row.get_by_test_id("action-note").fill(NOTE)
    await page.screenshot(path=str(BUILD / "board.png"))

    # Drill-down into the enterprise: profile, grade, factors, history, related.
    async with page.expect_response(
        lambda r: r.url.endswith(f"/api/v1/enterprises/{firm}") and r.request.method == "GET"
    ) as profile_info:
        await row.locator(f'[data-testid=enterprise-link][data-uscc="{firm}"]').first.click()
    profile = await profile_info.value
    drill = page.get_by_test_id("drilldown")
    await expect(drill).to_be_visible()
    await expect(drill).to_have_attribute("data-enterprise", firm)
    await expect(page.locator("#dd-body")).not_to_have_attribute("data-state", "loading")
    if profile.status == 200:
        await expect(page.locator("#dd-body")).to_have_attribute("data-state", "ready")
        await expect(page.get_by_test_id("drilldown-identity")).to_contain_text(firm)
    else:  # until GET /api/v1/enterprises/{uscc} exists: the board says so, and offers a retry
        await expect(page.get_by_test_id("drilldown-error")).to_contain_text(str(profile.status))
    await page.screenshot(path=str(BUILD / "board-drilldown.png"))
    await page.get_by_test_id("drilldown-close").click()
    await expect(drill).to_be_hidden()

    # Acknowledge from the board: the request carries the note; the row shows the answer.
    async with page.expect_response(
        lambda r: (
            r.url.endswith(f"/api/v1/alerts/{alert_id}/acknowledge") and r.request.method == "POST"
        )
    ) as ack_info:
        await row.get_by_test_id("action-acknowledge").click()
    ack = await ack_info.value
    assert ack.request.post_data_json == {"note": NOTE}
    assert ack.status == 200, (
        f"POST /api/v1/alerts/{alert_id}/acknowledge answered {ack.status}: "
        f"the board needs the acknowledge endpoint ({await ack.text()})"
    )
    body = await ack.json()
    assert body["alert_id"] == alert_id
    assert body["status"] == "acknowledged"
    await expect(row).to_have_attribute("data-status", "acknowledged")
    await expect(row).not_to_have_attribute("data-pending", "acknowledge")
    await expect(banner).to_be_hidden()  # nothing critical left open
    await page.screenshot(path=str(BUILD / "board-acknowledged.png"))
