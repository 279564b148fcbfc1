"""riskwire's Grafana dashboards (``deploy/grafana/dashboards``) as data: the queries of
every panel, for ``riskwire report`` and for the tests that run them against Prometheus.

>>> metric_names('sum by (job) (up{job=~"riskwire-.*"}) + riskwire:relay_backlog:max')
{'riskwire:relay_backlog:max'}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DASHBOARDS_DIR = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "dashboards"

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_METRIC = re.compile(r"\briskwire[a-zA-Z0-9_:]*")


@dataclass(frozen=True, slots=True)
class Query:
    expr: str
    legend: str


@dataclass(frozen=True, slots=True)
class Panel:
    dashboard: str  # the dashboard's uid
    panel_id: int
    title: str
    kind: str  # the Grafana panel type: timeseries, stat, piechart, ...
    unit: str
    queries: tuple[Query, ...]


def _panels_of(uid: str, panels: list[dict[str, Any]]) -> list[Panel]:
    out: list[Panel] = []
    for p in panels:
        if p["type"] == "row":
            out += _panels_of(uid, p.get("panels", []))
            continue
        queries = tuple(
            Query(t["expr"], t.get("legendFormat", "")) for t in p.get("targets", []) if "expr" in t
        )
        unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
        out.append(Panel(uid, p["id"], p.get("title", ""), p["type"], unit, queries))
    return out


def load_dashboards(directory: Path = DASHBOARDS_DIR) -> dict[str, dict[str, Any]]:
    """Each dashboard file's JSON, by file name."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*.json"))
    }


def load_panels(directory: Path = DASHBOARDS_DIR) -> list[Panel]:
    """Every panel that queries something, in dashboard file order, rows flattened."""
    return [
        panel
        for dashboard in load_dashboards(directory).values()
        for panel in _panels_of(dashboard["uid"], dashboard["panels"])
    ]


def metric_names(expr: str) -> set[str]:
    """The riskwire metric and recording-rule names a PromQL expression reads (label
    values left out)."""
    return set(_METRIC.findall(_STRING.sub('""', expr)))
