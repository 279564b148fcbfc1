"""riskwire's side of a Prometheus: the scrape configuration rendered from its template
(as ``deploy/observe.sh`` renders it) and a small client of the HTTP query API, for
``riskwire report`` and the tests that prove the dashboards and rules against a real
Prometheus.

>>> text = render_config(rules_dir=Path("/r"), api=["a:1"], workers=["w:2", "w:3"])
>>> '"/r/*.yml"' in text, '["w:2", "w:3"]' in text
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from core.errors import QueryError

PROMETHEUS_DIR = Path(__file__).resolve().parents[1] / "deploy" / "prometheus"
TEMPLATE = PROMETHEUS_DIR / "prometheus.yml.in"
RULES_DIR = PROMETHEUS_DIR / "rules"


def _flow(targets: list[str]) -> str:
    return ", ".join(f'"{t}"' for t in targets)


def render_config(
    *, rules_dir: Path, api: list[str], workers: list[str], interval: str = "5s"
) -> str:
    """The configuration template with its blanks filled."""
    text = TEMPLATE.read_text(encoding="utf-8")
    for blank, value in {
        "@INTERVAL@": interval,
        "@RULES_DIR@": str(rules_dir),
        "@API_TARGETS@": _flow(api),
        "@WORKER_TARGETS@": _flow(workers),
    }.items():
        text = text.replace(blank, value)
    return text


@dataclass(frozen=True, slots=True)
class Series:
    labels: dict[str, str]
    points: list[tuple[float, float]]  # (unix time, value); one point for an instant query


class PrometheusAPI:
    """``/api/v1/query`` and ``/api/v1/query_range``; a failure is a :class:`QueryError`."""

    def __init__(self, base_url: str, *, timeout_s: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout_s)

    def close(self) -> None:
        self._client.close()

    def query(self, expr: str, at: float | None = None) -> list[Series]:
        params = {"query": expr} | ({"time": str(at)} if at is not None else {})
        data = self._get("/api/v1/query", params)
        if data["resultType"] == "scalar":
            t, v = data["result"]
            return [Series({}, [(float(t), float(v))])]
        return [
            Series(r["metric"], [(float(r["value"][0]), float(r["value"][1]))])
            for r in data["result"]
        ]

    def query_range(self, expr: str, start: float, end: float, step_s: float) -> list[Series]:
        params = {"query": expr, "start": str(start), "end": str(end), "step": str(step_s)}
        data = self._get("/api/v1/query_range", params)
        return [
            Series(r["metric"], [(float(t), float(v)) for t, v in r["values"]])
            for r in data["result"]
        ]

    def get_json(self, path: str) -> Any:
        """Another endpoint's ``data`` (``/api/v1/rules``, ``/api/v1/targets``)."""
        return self._get(path, {})

    def _get(self, path: str, params: dict[str, str]) -> Any:
        try:
            response = self._client.get(path, params=params)
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise QueryError(f"Prometheus at {self._client.base_url} failed: {exc}") from exc
        if body.get("status") != "success":
            raise QueryError(f"{params.get('query', path)}: {body.get('error', body)}")
        return body["data"]
