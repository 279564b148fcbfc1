"""A real Chromium for the board's browser tests, driven by Playwright.

The browser is Debian's ``chromium`` (``apt-get install chromium fonts-noto-cjk``); Playwright's
own browser download is never used. Without it these tests fail in CI (``CI=true``) and are
skipped locally, with the reason.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
BOARD_HTML = ROOT / "api" / "static" / "board.html"
BOARD_MODULES = ROOT / "api" / "static" / "board"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
LAUNCH_ARGS = [
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1440, "height": 900}

# Counts the board's beeps: every WebAudio oscillator it starts.
COUNT_BEEPS = """
(() => {
  window.__oscillators = 0;
  const AC = window.AudioContext;
  if (!AC) return;
  const create = AC.prototype.createOscillator;
  AC.prototype.createOscillator = function () { window.__oscillators++; return create.call(this); };
})();
"""


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: browser tests fail instead of skipping)")
    pytest.skip(reason)


def chromium_executable() -> str:
    path = shutil.which("chromium")
    if path is None:
        _unavailable(
            "Debian's chromium is not installed (apt-get install -y chromium fonts-noto-cjk)"
        )
    assert path is not None
    return path


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    executable = chromium_executable()
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    args = LAUNCH_ARGS + (["--no-sandbox"] if os.geteuid() == 0 else [])
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=executable, args=args)
        yield chromium
        await chromium.close()


@pytest.fixture
async def context(browser: Any) -> AsyncIterator[Any]:
    ctx = await browser.new_context(
        viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai", color_scheme="dark"
    )
    await ctx.add_init_script(COUNT_BEEPS)
    yield ctx
    await ctx.close()


@pytest.fixture
async def page(context: Any) -> AsyncIterator[Any]:
    """A page that fails the test on any uncaught error or console error of the board."""
    pg = await context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    pg.on(
        "console",
        lambda msg: (
            errors.append(f"console.{msg.type}: {msg.text}")
            if msg.type == "error" and "Failed to load resource" not in msg.text
            else None
        ),
    )
    yield pg
    assert not errors, "\n".join(errors)


@pytest.fixture
def build_dir() -> Path:
    BUILD.mkdir(exist_ok=True)
    return BUILD
