"""The generated Kubernetes resources (``python -m cli.manifests``): the committed files
are what the generator makes, it works with no rule files or dashboards at all, and with
some it makes a PrometheusRule and dashboard ConfigMaps that kubeconform accepts."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from cli import manifests
from cli.manifests import Sources

from .deploy_kit import kubeconform

RULES = """\
groups:
  - name: riskwire.alerts
    rules:
      - alert: RiskwireWorkerDown
        expr: up{job="riskwire-worker"} == 0
        for: 1m
        labels: {severity: critical}
        annotations: {summary: "worker {{ $labels.instance }} is down"}
"""
RECORDING = """\
groups:
  - name: riskwire.recording
    rules:
      - record: riskwire:consumer_lag:sum
        expr: sum by (topic) (riskwire_consumer_lag)
"""
PROMTOOL_TEST = """\
rule_files: [riskwire-alerts.yml]
tests: []
"""
DASHBOARD = '{"title": "riskwire engine", "uid": "riskwire-engine", "panels": []}\n'
DATASOURCE = """\
apiVersion: 1
datasources:
  - name: riskwire Prometheus
    uid: riskwire-prometheus
    type: prometheus
    url: ${RISKWIRE_PROMETHEUS_URL}
"""


def test_the_committed_files_are_what_the_generator_makes() -> None:
    assert manifests.stale() == [], "run: python -m cli.manifests"
    assert manifests.main(["--check"]) == 0


def test_no_rules_and_no_dashboards_make_only_the_topics(tmp_path: Path) -> None:
    for sources in (
        Sources(tmp_path / "missing", tmp_path / "missing-too", tmp_path / "missing-three"),
        Sources(*(_mkdir(tmp_path / name) for name in ("rules", "dashboards", "datasources"))),
    ):
        files = manifests.render(sources)
        assert set(files) == {"kustomization.yaml", "topics.yaml"}
        assert yaml.safe_load(files["kustomization.yaml"])["resources"] == ["topics.yaml"]


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def test_rules_and_dashboards_become_a_prometheus_rule_and_configmaps(tmp_path: Path) -> None:
    rules, dashboards = _mkdir(tmp_path / "rules"), _mkdir(tmp_path / "dashboards")
    datasources = _mkdir(tmp_path / "datasources")
    (datasources / "riskwire.yml").write_text(DATASOURCE, encoding="utf-8")
    (rules / "riskwire-alerts.yml").write_text(RULES, encoding="utf-8")
    (rules / "riskwire-recording.yml").write_text(RECORDING, encoding="utf-8")
    (rules / "riskwire-alerts.test.yml").write_text(PROMTOOL_TEST, encoding="utf-8")
    (dashboards / "Engine_SRE.json").write_text(DASHBOARD, encoding="utf-8")

    files = manifests.render(Sources(rules, dashboards, datasources))
    assert yaml.safe_load(files["kustomization.yaml"])["resources"] == [
        "dashboards.yaml",
        "prometheus-rules.yaml",
        "topics.yaml",
    ]
    rule = yaml.safe_load(files["prometheus-rules.yaml"])
    assert rule["kind"] == "PrometheusRule"
    groups = yaml.safe_load(RULES)["groups"] + yaml.safe_load(RECORDING)["groups"]
    assert rule["spec"]["groups"] == groups  # in file order; the promtool test is skipped
    dashboard, datasource = yaml.safe_load_all(files["dashboards.yaml"])
    assert dashboard["metadata"]["name"] == "riskwire-dashboard-engine-sre"
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert dashboard["data"] == {"Engine_SRE.json": DASHBOARD}  # the file's text, unchanged
    assert datasource["metadata"]["labels"]["grafana_datasource"] == "1"
    [source] = yaml.safe_load(datasource["data"]["riskwire.yml"])["datasources"]
    assert source["uid"] == "riskwire-prometheus"
    assert source["url"] == manifests.IN_CLUSTER_PROMETHEUS

    generated = "---\n".join(files[n] for n in ("dashboards.yaml", "prometheus-rules.yaml"))
    checked = kubeconform(generated)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Valid: 3, Invalid: 0, Errors: 0, Skipped: 0" in checked.stdout


def test_a_broken_dashboard_is_refused(tmp_path: Path) -> None:
    dashboards = _mkdir(tmp_path / "dashboards")
    (dashboards / "broken.json").write_text('{"title": ', encoding="utf-8")
    try:
        manifests.render(Sources(tmp_path / "none", dashboards, tmp_path / "none"))
    except json.JSONDecodeError:
        return
    raise AssertionError("a dashboard that is not JSON was accepted")


def test_write_removes_what_is_no_longer_generated(tmp_path: Path) -> None:
    out, rules = tmp_path / "generated", _mkdir(tmp_path / "rules")
    (rules / "a.yml").write_text(RULES, encoding="utf-8")
    manifests.write(out, Sources(rules, tmp_path / "none", tmp_path / "none"))
    assert (out / "prometheus-rules.yaml").exists()
    (rules / "a.yml").unlink()
    assert manifests.stale(out, Sources(rules, tmp_path / "none", tmp_path / "none")) == [
        "kustomization.yaml",
        "prometheus-rules.yaml",
    ]
    manifests.write(out, Sources(rules, tmp_path / "none", tmp_path / "none"))
    assert sorted(p.name for p in out.iterdir()) == ["kustomization.yaml", "topics.yaml"]
