"""What the operators see, proved against a real Prometheus: the stack (a worker and the
API, each a scrape target) plays the demo feed, and then every dashboard panel's query and
every rule's expression parses and returns at least one series; Prometheus counts each
event once although it scrapes both; the worker's log is JSON lines throughout."""

from __future__ import annotations

import json
import re
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli.dashboards import load_panels
from cli.prometheus import PrometheusAPI
from core.settings import Settings
from simulate.demo import demo_events
from streams.kafka import department_producer, produce_events

from ..unit.test_dashboards import rules as all_rules
from .conftest import Proc, child_env, free_port, isolated_settings, start_worker, wait_for
from .prometheus_kit import running_prometheus

pytestmark = [pytest.mark.kafka, pytest.mark.redis, pytest.mark.e2e]

# A threshold after a spaced comparison operator becomes a `bool` comparison: the rule's
# inputs must exist even when it does not fire (rule files follow this spacing).
_COMPARISON = re.compile(r"\s(==|!=|>=|<=|>|<)\s+(?!bool\b)")


def as_bool(expr: str) -> str:
    """``a > 5 and b > 0`` -> ``a > bool 5 and b > bool 0``.

    >>> as_bool('up{job="x"} == 0')
    'up{job="x"} == bool 0'
    """
    return _COMPARISON.sub(lambda m: f" {m.group(1)} bool ", expr)


@dataclass
class Stack:
    settings: Settings
    worker: Proc
    api: Proc
    prometheus: PrometheusAPI
    events: int


@pytest.fixture(scope="module")
def stack(services: dict[str, str], logs_dir: Path) -> Iterator[Stack]:
    settings = isolated_settings(services, kind="observe").model_copy(update={"log_format": "json"})
    for name in ("observe-worker.log", "observe-api.log"):  # this run's lines only
        (logs_dir / name).unlink(missing_ok=True)
    worker = start_worker(settings, logs_dir, "observe-worker")
    api_port = free_port()
    api_env = child_env(settings, PROMETHEUS_MULTIPROC_DIR=tempfile.mkdtemp(prefix="rw-api-"))
    api = Proc(["api", "--port", str(api_port)], api_env, logs_dir / "observe-api.log").start()
    assert worker.metrics_url is not None
    worker_target = worker.metrics_url.removeprefix("http://").removesuffix("/metrics")
    try:
        with (
            tempfile.TemporaryDirectory(prefix="rw-prometheus-") as workdir,
            running_prometheus(
                Path(workdir), api=[f"127.0.0.1:{api_port}"], workers=[worker_target]
            ) as prometheus,
        ):
            # A fresh population and sources each run: the session's Redis may hold an
            # earlier run's profiles, and a replayed demo feed would change nothing.
            run = uuid.uuid4().hex[:8]
            events = demo_events(seed=int(run, 16) % 100_000)
            for event in events:
                event["source"] += f"-{run}"
            producer = department_producer(settings)
            for _ in produce_events(producer, settings, events):
                pass
            producer.send(settings.topic_tax, key=b"x", value=b"not json")
            producer.flush()
            producer.close()
            yield Stack(settings, worker, api, prometheus, len(events))
    finally:
        api.stop()
        worker.stop()


def _value(prometheus: PrometheusAPI, expr: str) -> float | None:
    series = prometheus.query(expr)
    return series[0].points[-1][1] if series else None


def test_each_event_is_counted_once_though_both_targets_are_scraped(stack: Stack) -> None:
    p = stack.prometheus
    wait_for(
        lambda: _value(p, 'count(up{job=~"riskwire-.*"} == 1)') == 2,
        timeout=60,
        what="both targets up",
    )
    wait_for(
        lambda: _value(p, "sum(riskwire_events_consumed_total)") == stack.events,
        timeout=120,
        what=f"{stack.events} demo events consumed",
        proc=stack.worker,
    )
    # Still exactly the demo feed after more scrapes of both targets.
    wait_for(
        lambda: _value(p, "sum(riskwire_source_events_total)") == stack.events,
        timeout=30,
        what="events per source department",
    )
    assert _value(p, "sum(riskwire_events_consumed_total)") == stack.events
    assert _value(p, 'sum(riskwire_events_dead_lettered_total{reason="not_json"})') == 1


def _empty_panels(p: PrometheusAPI) -> list[str]:
    return [
        f"{panel.dashboard} / {panel.title}: {q.expr}"
        for panel in load_panels()
        for q in panel.queries
        if not p.query(q.expr)
    ]


def test_every_panel_query_returns_series(stack: Stack) -> None:
    p = stack.prometheus
    wait_for(
        lambda: (_value(p, "sum(riskwire_alerts_published_total)") or 0) > 0,
        timeout=120,
        what="alerts published",
        proc=stack.worker,
    )
    empty: list[str] = []

    def all_answer() -> bool:
        empty[:] = _empty_panels(p)
        return not empty

    try:
        wait_for(all_answer, timeout=60, what="every panel answers")
    except AssertionError:
        pytest.fail("panels without data:\n" + "\n".join(empty))
    assert len(load_panels()) >= 30


def test_every_rule_evaluates_and_its_inputs_exist(stack: Stack) -> None:
    p = stack.prometheus
    rules = all_rules()
    silent: list[str] = []

    def all_answer() -> bool:
        silent[:] = [
            r["expr"]
            for r in rules
            if not p.query(as_bool(r["expr"]) if "alert" in r else r["expr"])
        ]
        return not silent

    try:
        wait_for(all_answer, timeout=90, what="every rule answers")
    except AssertionError:
        pytest.fail("rules without series:\n" + "\n".join(silent))
    groups = p.get_json("/api/v1/rules")["groups"]
    loaded = [r for g in groups for r in g["rules"]]
    assert len(loaded) == len(rules)
    assert all(r["health"] == "ok" for r in loaded), [r for r in loaded if r["health"] != "ok"]
    # The demo feed raises no alert that pages anyone.
    firing = [r["name"] for r in loaded if r["type"] == "alerting" and r["state"] == "firing"]
    assert firing == []


def _json_loggers(log: Path) -> set[str]:
    """The loggers of a log whose every line is a riskwire JSON line."""
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert lines
    loggers = set()
    for line in lines:
        record = json.loads(line)
        assert {"event", "level", "timestamp"} <= set(record), line
        loggers.add(record.get("logger", ""))
    return loggers


def test_the_logs_are_json_lines(stack: Stack) -> None:
    worker = _json_loggers(stack.worker.log)
    assert any(name.startswith(("faust", "mode", "aiokafka")) for name in worker), worker
    api = _json_loggers(stack.api.log)
    assert any(name.startswith("uvicorn") for name in api), api


def test_report_renders_the_key_panels_from_prometheus(stack: Stack, tmp_path: Path) -> None:
    import subprocess
    import sys

    from cli.report import KEY_PANELS
    from core.errors import QueryError

    with pytest.raises(QueryError):
        stack.prometheus.query("sum(")  # Prometheus's refusal reaches the caller
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "report",
            "--prometheus",
            stack.prometheus.base_url,
            "--out",
            str(tmp_path),
            "--minutes",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=child_env(stack.settings),
    )
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in tmp_path.glob("*.png"))
    assert written == sorted(f"{uid}-{pid}.png" for uid, pid in KEY_PANELS)
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in tmp_path.glob("*.png"))
