"""The deployment manifests (deploy/compose.yaml, deploy/Containerfile, deploy/k8s) parse,
build with kustomize, pass kubeconform against the schemas kept in the repo, and name
the images, commands, ports, paths, settings, topics and consumer group that the code
uses, so a change on one side fails here."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from api.routes.health import router as health_router
from cli.main import app as cli
from cli.manifests import KAFKA_CLUSTER
from core.settings import Settings
from streams.kafka import all_topics

from .deploy_kit import (
    DEPLOY,
    K8S,
    ROOT,
    built,
    kubeconform,
    kustomize_build,
    load_all,
    named,
    of_kind,
)

DEFAULTS = Settings.model_construct()
PRODUCTION = Settings.model_construct(env="production")
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
OVERLAY = K8S / "overlays" / "production"
COMPOSE: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
CLI_COMMANDS = {c.name or c.callback.__name__ for c in cli.registered_commands if c.callback}


@pytest.fixture(scope="module")
def prod() -> list[dict[str, Any]]:
    return built(OVERLAY)


def test_every_manifest_parses_and_every_kustomization_lists_files_that_exist() -> None:
    for path in (DEPLOY / "compose.yaml", DEPLOY / "compose/prometheus.yml"):
        assert load_all(path), path
    for path in sorted(K8S.rglob("*.yaml")):
        docs = load_all(path)
        assert docs, path
        assert all({"apiVersion", "kind"} <= d.keys() for d in docs), path
        if path.name == "kustomization.yaml":
            for resource in docs[0].get("resources", []) + [
                p["path"] for p in docs[0].get("patches", [])
            ]:
                assert (path.parent / resource).exists(), f"{path}: {resource}"


@pytest.mark.parametrize("folder", [K8S / "base", OVERLAY], ids=["base", "production"])
def test_kustomize_builds_and_kubeconform_accepts_every_resource(folder: Path) -> None:
    manifests = kustomize_build(folder)
    count = len([d for d in yaml.safe_load_all(manifests) if d])
    checked = kubeconform(manifests)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{count} resources found" in checked.stdout
    assert f"Valid: {count}, Invalid: 0, Errors: 0, Skipped: 0" in checked.stdout


def test_kubeconform_refuses_a_field_the_schema_does_not_know(prod: list[dict[str, Any]]) -> None:
    scaled = named(prod, "ScaledObject", "riskwire-worker")
    bad = {**scaled, "spec": {**scaled["spec"], "maxReplicas": 8}}  # HPA's name, not KEDA's
    checked = kubeconform(yaml.safe_dump(bad))
    assert checked.returncode != 0
    assert "maxReplicas" in checked.stdout


def _containers(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        c["name"]: c
        for kind in ("Deployment", "StatefulSet")
        for d in of_kind(docs, kind)
        for c in d["spec"]["template"]["spec"]["containers"]
    }


def test_images_commands_ports_and_probes_are_the_codes(prod: list[dict[str, Any]]) -> None:
    containers = _containers(prod)
    worker, api = containers["worker"], containers["api"]
    for c in (worker, api):
        assert c["image"] == f"registry.example.org/riskwire/riskwire:{VERSION}"
        assert c["args"][0] in CLI_COMMANDS
    assert worker["ports"] == [{"name": "metrics", "containerPort": DEFAULTS.worker_metrics_port}]
    assert api["ports"] == [{"name": "http", "containerPort": DEFAULTS.api_port}]
    paths = {r.path for r in health_router.routes}  # type: ignore[attr-defined]
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz" in paths
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz" in paths
    base = yaml.safe_load((K8S / "base/kustomization.yaml").read_text(encoding="utf-8"))
    assert base["images"] == [{"name": "riskwire", "newTag": VERSION}]
    config = named(prod, "ConfigMap", "riskwire-config")["data"]
    assert int(config["RISKWIRE_API_PORT"]) == DEFAULTS.api_port
    assert int(config["RISKWIRE_WORKER_METRICS_PORT"]) == DEFAULTS.worker_metrics_port


def _settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """``Settings`` built from ``env`` alone: every name must be a setting and parse."""
    fields = {f"RISKWIRE_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= fields, set(env) - fields
    for name in fields:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_the_environment_is_made_of_real_settings(
    prod: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = dict(named(prod, "ConfigMap", "riskwire-config")["data"])
    secrets = {
        "RISKWIRE_IDENTITY_SECRET": "x" * 32,
        "RISKWIRE_SEALING_KEYS": "k1:" + "s" * 32,
        "RISKWIRE_AUDIT_KEY": "a" * 32,
    }
    settings = _settings_from({**config, **secrets}, monkeypatch)
    assert settings.env == "production"
    assert settings.kafka_bootstrap == f"{KAFKA_CLUSTER}-kafka-bootstrap:9092"
    kafka = named(prod, "Kafka", KAFKA_CLUSTER)["spec"]["kafka"]["config"]
    assert settings.replication_factor == kafka["default.replication.factor"] == 3
    assert settings.min_insync_replicas == kafka["min.insync.replicas"] == 2
    env = {**COMPOSE["x-riskwire"]["environment"], **secrets}
    composed = _settings_from(env, monkeypatch)
    assert composed.api_port == DEFAULTS.api_port
    assert composed.replication_factor == composed.min_insync_replicas == 1  # one broker


def test_topics_replication_and_kraft(prod: list[dict[str, Any]]) -> None:
    topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(prod, "KafkaTopic")}
    assert set(topics) == set(all_topics(PRODUCTION))
    for name, spec in topics.items():
        assert spec["replicas"] == PRODUCTION.replication_factor == 3
        assert int(spec["config"]["min.insync.replicas"]) == PRODUCTION.min_insync_replicas == 2
        assert spec["partitions"] == DEFAULTS.partitions
        compacted = spec["config"].get("cleanup.policy") == "compact"
        assert compacted == (
            name
            in (DEFAULTS.topic_grades, DEFAULTS.topic_alert_archive, DEFAULTS.topic_audit_anchor)
        )
    kafka = named(prod, "Kafka", KAFKA_CLUSTER)["spec"]["kafka"]
    assert kafka["config"]["default.replication.factor"] == 3
    assert kafka["config"]["min.insync.replicas"] == 2
    assert "zookeeper" not in named(prod, "Kafka", KAFKA_CLUSTER)["spec"]
    roles = sorted(r for p in of_kind(prod, "KafkaNodePool") for r in p["spec"]["roles"])
    assert roles == ["broker", "controller"]
    assert all(p["spec"]["replicas"] == 3 for p in of_kind(prod, "KafkaNodePool"))


def test_workers_scale_on_their_own_lag_never_past_the_partitions(
    prod: list[dict[str, Any]],
) -> None:
    scaled = named(prod, "ScaledObject", "riskwire-worker")["spec"]
    assert (
        scaled["scaleTargetRef"]["name"]
        == named(prod, "Deployment", "riskwire-worker")["metadata"]["name"]
    )
    config = named(prod, "ConfigMap", "riskwire-config")["data"]
    assert {t["metadata"]["topic"] for t in scaled["triggers"]} == set(DEFAULTS.input_topics)
    namespace = yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())["namespace"]
    for trigger in scaled["triggers"]:
        assert trigger["type"] == "kafka"
        assert trigger["metadata"]["consumerGroup"] == config["RISKWIRE_APP_ID"]
        host = trigger["metadata"]["bootstrapServers"]
        assert host == f"{KAFKA_CLUSTER}-kafka-bootstrap.{namespace}.svc:9092"
    partitions = min(t["spec"]["partitions"] for t in of_kind(prod, "KafkaTopic"))
    assert 1 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"] <= partitions


def _egress_peers(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [peer for rule in policy["spec"].get("egress", []) for peer in rule.get("to", [])]


def test_only_workers_reach_out_and_only_to_the_webhook_networks_on_443(
    prod: list[dict[str, Any]],
) -> None:
    policies = of_kind(prod, "NetworkPolicy")
    outward = [p for p in policies if any("ipBlock" in peer for peer in _egress_peers(p))]
    assert [p["metadata"]["name"] for p in outward] == ["riskwire-webhook-egress"]
    [webhooks] = outward
    assert webhooks["spec"]["podSelector"] == {
        "matchLabels": {"app.kubernetes.io/name": "riskwire-worker"}
    }
    [rule] = webhooks["spec"]["egress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 443}]
    assert [peer["ipBlock"]["cidr"] for peer in rule["to"]] == ["10.20.0.0/16", "10.30.8.0/24"]
    everyone = named(prod, "NetworkPolicy", "riskwire-default")["spec"]
    assert set(everyone["policyTypes"]) == {"Ingress", "Egress"}
    for kind in ("Deployment", "StatefulSet"):
        for d in of_kind(prod, kind):  # every pod falls under the default policy
            labels = d["spec"]["template"]["metadata"]["labels"]
            assert everyone["podSelector"]["matchLabels"].items() <= labels.items()


def test_prometheus_scrapes_the_jobs_the_rules_name(prod: list[dict[str, Any]]) -> None:
    services = {s["metadata"]["name"]: s for s in of_kind(prod, "Service")}
    for monitor in of_kind(prod, "ServiceMonitor"):
        [service] = [
            s
            for s in services.values()
            if monitor["spec"]["selector"]["matchLabels"].items()
            <= s["metadata"].get("labels", {}).items()
            and s["metadata"]["name"] == monitor["metadata"]["name"]
        ]
        port_names = {p["name"] for p in service["spec"]["ports"]}
        assert {e["port"] for e in monitor["spec"]["endpoints"]} <= port_names
    # The Prometheus operator's job label is the Service's name; the rules use these.
    assert {m["metadata"]["name"] for m in of_kind(prod, "ServiceMonitor")} == {
        "riskwire-api",
        "riskwire-worker",
    }
    scrape = yaml.safe_load((DEPLOY / "compose/prometheus.yml").read_text(encoding="utf-8"))
    jobs = {j["job_name"]: j for j in scrape["scrape_configs"]}
    assert jobs["riskwire-api"]["static_configs"][0]["targets"] == [f"api:{DEFAULTS.api_port}"]
    assert jobs["riskwire-worker"]["dns_sd_configs"][0]["port"] == DEFAULTS.worker_metrics_port


def test_compose_file_follows_the_compose_specification() -> None:
    spec = json.loads((DEPLOY / "compose/compose-spec.json").read_text(encoding="utf-8"))
    check = jsonschema_rs.Draft7Validator(spec)
    assert [str(e) for e in check.iter_errors(COMPOSE)] == []
    services = dict(COMPOSE["services"], api={**COMPOSE["services"]["api"], "port": ["1:1"]})
    assert not check.is_valid({**COMPOSE, "services": services})  # an unknown key fails


def test_compose_runs_the_same_image_commands_and_versions() -> None:
    services = COMPOSE["services"]
    for name in ("topics", "worker", "api"):
        assert services[name]["image"] == f"riskwire:{VERSION}"
        assert services[name]["command"][0] in CLI_COMMANDS
        assert services[name]["build"]["dockerfile"] == "deploy/Containerfile"
    assert services["api"]["ports"] == [f"{DEFAULTS.api_port}:{DEFAULTS.api_port}"]
    pom = (DEPLOY / "kafka/pom.xml").read_text(encoding="utf-8")
    kafka_version = re.search(r"<kafka.version>([^<]+)<", pom)
    assert kafka_version is not None
    assert services["kafka"]["image"] == f"apache/kafka:{kafka_version.group(1)}"
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    mounts = {v.split(":")[1]: v.split(":")[0] for v in services["prometheus"]["volumes"]}
    assert mounts["/etc/prometheus/rules"] == "./prometheus/rules"
    grafana = {v.split(":")[1]: v.split(":")[0] for v in services["grafana"]["volumes"]}
    assert grafana["/etc/grafana/provisioning"] == "./grafana/provisioning"
    assert grafana[GRAFANA_DASHBOARDS] == "./grafana/dashboards"


GRAFANA_DASHBOARDS = "/var/lib/grafana/dashboards/riskwire"


def test_grafana_provisioning_finds_what_compose_gives_it() -> None:
    """For whichever provisioning files exist (deploy/grafana/provisioning): dashboards
    are read where compose mounts them, and every variable a file names is set."""
    provisioning = DEPLOY / "grafana/provisioning"
    for path in sorted((provisioning / "dashboards").glob("*.y*ml")):
        for provider in yaml.safe_load(path.read_text(encoding="utf-8")).get("providers", []):
            assert provider["options"]["path"] == GRAFANA_DASHBOARDS, path
    environment = COMPOSE["services"]["grafana"]["environment"]
    for path in sorted(provisioning.rglob("*.y*ml")):
        for variable in re.findall(r"\$\{(\w+)\}", path.read_text(encoding="utf-8")):
            assert variable in environment, f"{path} needs {variable}"


def test_the_image_holds_every_package_and_exposes_the_ports() -> None:
    text = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    for package in packages:
        assert f"COPY {package} {package}" in text
    assert f"EXPOSE {DEFAULTS.api_port} {DEFAULTS.worker_metrics_port}" in text
    python = re.search(r"python:(\d+\.\d+)-", text)
    assert python is not None
    assert f">={python.group(1)}" in project["project"]["requires-python"]
    assert 'ENTRYPOINT ["riskwire"]' in text
    assert "riskwire" in project["project"]["scripts"]
