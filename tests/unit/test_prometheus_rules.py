"""riskwire's Prometheus rule files: ``promtool check rules`` accepts them, and the unit
tests in ``deploy/prometheus/tests`` (each alert fires on its example and stays quiet on
its counter-example) pass under ``promtool test rules``. The scrape configuration
template renders to a configuration ``promtool check config`` accepts."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from cli.prometheus import render_config

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        reason = "promtool is missing (Debian package prometheus; deploy/observe.sh install)"
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: fail instead of skipping)")
        pytest.skip(reason)
    return found


def _run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_rule_files_are_valid() -> None:
    files = sorted((PROMETHEUS / "rules").glob("*.yml"))
    assert len(files) >= 2
    out = _run(_promtool(), "check", "rules", *map(str, files))
    assert out.count("SUCCESS") == len(files)


def test_rule_unit_tests_pass() -> None:
    tests = sorted((PROMETHEUS / "tests").glob("*.yml"))
    assert tests
    _run(_promtool(), "test", "rules", *map(str, tests))


def test_every_alert_has_a_unit_test() -> None:
    import yaml

    alerts = {
        rule["alert"]
        for path in (PROMETHEUS / "rules").glob("*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    tested = {
        case["alertname"]
        for path in (PROMETHEUS / "tests").glob("*.yml")
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert alerts == tested


def test_scrape_config_template_renders_valid(tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text(
        render_config(
            rules_dir=PROMETHEUS / "rules",
            api=["127.0.0.1:8000"],
            workers=["127.0.0.1:9464", "127.0.0.1:9465"],
        )
    )
    out = _run(_promtool(), "check", "config", str(config))
    assert "SUCCESS" in out
    assert "@" not in config.read_text().split("rule_files")[1]
