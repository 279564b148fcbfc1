"""The Grafana dashboards as code: each file passes Grafana's dashboard schema (kept in
the repo: ``deploy/grafana/dashboard.schema.json``), every panel queries the provisioned
datasource, and every metric a query or a rule names is one riskwire exports (or a
recording rule of its own)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import prometheus_client
import pytest
import yaml

import alerts.notify.metrics  # noqa: F401  (registers the notification metrics)
import core.telemetry  # noqa: F401
from cli.dashboards import DASHBOARDS_DIR, load_dashboards, load_panels, metric_names

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
RULES = ROOT / "deploy" / "prometheus" / "rules"
DATASOURCE_UID = "riskwire-prometheus"


def rules() -> list[dict[str, Any]]:
    """Every rule of the rule files, recording and alerting."""
    return [
        rule
        for path in sorted(RULES.glob("*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def exported_names() -> set[str]:
    """The sample names riskwire's processes export (prometheus_client's families)."""
    names: set[str] = set()
    for family in prometheus_client.REGISTRY.collect():
        if not family.name.startswith("riskwire_"):
            continue
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names.update(f"{family.name}{s}" for s in ("_bucket", "_sum", "_count"))
        else:
            names.add(family.name)
    return names


def test_every_dashboard_passes_grafanas_schema() -> None:
    schema = json.loads((GRAFANA / "dashboard.schema.json").read_text())
    validator = jsonschema_rs.validator_for(schema)
    dashboards = load_dashboards()
    assert {"riskwire-overview.json", "riskwire-engine.json", "riskwire-sources.json"} <= set(
        dashboards
    )
    for name, dashboard in dashboards.items():
        errors = [str(e) for e in validator.iter_errors(dashboard)]
        assert not errors, f"{name}: {errors}"


def test_the_schema_rejects_what_grafana_rejects() -> None:
    validator = jsonschema_rs.validator_for(
        json.loads((GRAFANA / "dashboard.schema.json").read_text())
    )
    dashboard = load_dashboards()["riskwire-engine.json"]
    broken = json.loads(json.dumps(dashboard))
    broken["panels"][1]["gridPos"]["w"] = 25  # wider than the 24-column grid
    assert not validator.is_valid(broken)
    broken = json.loads(json.dumps(dashboard))
    del broken["panels"][1]["fieldConfig"]
    assert not validator.is_valid(broken)
    broken = json.loads(json.dumps(dashboard))
    broken["graphTooltip"] = 3
    assert not validator.is_valid(broken)


def test_panels_query_the_provisioned_datasource() -> None:
    provisioned = yaml.safe_load((GRAFANA / "provisioning/datasources/riskwire.yml").read_text())
    assert [d["uid"] for d in provisioned["datasources"]] == [DATASOURCE_UID]
    uids = [d["uid"] for d in load_dashboards().values()]
    assert len(set(uids)) == len(uids)
    for dashboard in load_dashboards().values():
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(set(ids)) == len(ids), dashboard["uid"]
        for panel in dashboard["panels"]:
            if panel["type"] == "row":
                continue
            assert panel["datasource"]["uid"] == DATASOURCE_UID
            assert panel["targets"], panel["title"]
            assert all(t["datasource"]["uid"] == DATASOURCE_UID for t in panel["targets"])


def test_provisioned_dashboards_path_is_where_the_files_go() -> None:
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/riskwire.yml").read_text())
    assert provider["providers"][0]["type"] == "file"
    assert DASHBOARDS_DIR == GRAFANA / "dashboards"


@pytest.mark.parametrize("panel", load_panels(), ids=lambda p: f"{p.dashboard}:{p.panel_id}")
def test_every_panel_names_only_exported_metrics(panel: Any) -> None:
    known = exported_names() | {r["record"] for r in rules() if "record" in r}
    for query in panel.queries:
        names = metric_names(query.expr)
        assert names or "up{" in query.expr, query.expr
        assert names <= known, f"{query.expr}: {names - known} not exported"


def test_every_rule_names_only_exported_metrics() -> None:
    every = rules()
    known = exported_names() | {r["record"] for r in every if "record" in r}
    for rule in every:
        names = metric_names(rule["expr"])
        assert names <= known, f"{rule['expr']}: {names - known} not exported"
    assert sum(1 for r in every if "alert" in r) >= 8


def test_a_query_naming_an_unknown_metric_is_caught() -> None:
    assert metric_names("rate(riskwire_events_consumd_total[5m])") - exported_names()
