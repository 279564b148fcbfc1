"""What the deployment tests share: the Go tools (kustomize, kubeconform) that
``deploy/test.sh`` installs, ``kustomize build``, kubeconform with the schemas kept in
``deploy/k8s/schemas``, and YAML loading."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
SCHEMAS = K8S / "schemas"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def go_tool(name: str) -> str:
    """The path of a Go tool: on PATH or in Go's bin folder (``deploy/test.sh`` installs
    it there); a missing one fails in CI and skips locally."""
    found = shutil.which(name)
    if found:
        return found
    gopath = (
        subprocess.run(
            ["go", "env", "GOPATH"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if shutil.which("go")
        else ""
    )
    candidate = Path(gopath or Path.home() / "go") / "bin" / name
    if candidate.is_file():
        return str(candidate)
    message = f"{name} is not installed (bash deploy/test.sh installs it with go install)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def load_all(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def kustomize_build(folder: Path) -> str:
    done = subprocess.run(
        [go_tool("kustomize"), "build", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def built(folder: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(kustomize_build(folder)) if d is not None]


def kubeconform(manifests: str) -> subprocess.CompletedProcess[str]:
    """kubeconform -strict over ``manifests`` with only the schemas kept in the repo."""
    return subprocess.run(
        [
            go_tool("kubeconform"),
            "-strict",
            "-summary",
            "-schema-location",
            str(SCHEMAS / "{{ .ResourceKind }}{{ .KindSuffix }}.json"),
            "-schema-location",
            str(SCHEMAS / "{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"),
            "-",
        ],
        input=manifests,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d.get("kind") == kind]


def named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [doc] = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    return doc
