"""``riskwire report`` draws the key panels with the dashboards' own queries."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from cli.dashboards import load_panels
from cli.prometheus import Series
from cli.report import KEY_PANELS, render_report
from core.errors import QueryError

PNG = b"\x89PNG\r\n\x1a\n"


class RecordingPrometheus:
    """Answers every query with two series and remembers what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def query(self, expr: str, at: float | None = None) -> list[Series]:
        self.asked.append(expr)
        return [Series({"grade": "A"}, [(0.0, 3.0)]), Series({"grade": "B"}, [(0.0, 1.0)])]

    def query_range(self, expr: str, start: float, end: float, step_s: float) -> list[Series]:
        self.asked.append(expr)
        points = [(start + i * step_s, float(i)) for i in range(int((end - start) / step_s))]
        return [Series({"topic": "tax.events", "stage": "rules"}, points)]


def test_key_panels_render_with_the_dashboards_queries(tmp_path: Path) -> None:
    api = RecordingPrometheus()
    paths = render_report(api, tmp_path, minutes=5)  # type: ignore[arg-type]
    assert [p.name for p in paths] == [f"{uid}-{pid}.png" for uid, pid in KEY_PANELS]
    for path in paths:
        assert path.read_bytes().startswith(PNG)
        assert 5_000 < path.stat().st_size < 200_000
    panels = {(p.dashboard, p.panel_id): p for p in load_panels()}
    wanted = [q.expr for key in KEY_PANELS for q in panels[key].queries]
    assert api.asked == wanted


def test_an_unknown_panel_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="no-such"):
        render_report(RecordingPrometheus(), tmp_path, keys=[("no-such", 1)])  # type: ignore[arg-type]


def test_a_failing_prometheus_is_a_query_error(tmp_path: Path) -> None:
    from cli.prometheus import PrometheusAPI

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api = PrometheusAPI(f"http://127.0.0.1:{port}", timeout_s=2)
    try:
        with pytest.raises(QueryError):
            render_report(api, tmp_path)
    finally:
        api.close()
