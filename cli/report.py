"""``riskwire report``: the key dashboard panels rendered from a real Prometheus into PNGs,
with the dashboards' own queries (:mod:`cli.dashboards`), for the README and for anyone
without a Grafana at hand.

Time series are drawn over the last ``minutes``; a stat panel shows its latest value, a
pie chart and a bar gauge their latest value per series.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cli.dashboards import Panel, Query, load_panels
from cli.prometheus import PrometheusAPI, Series

# (dashboard uid, panel id): what the README shows.
KEY_PANELS: tuple[tuple[str, int], ...] = (
    ("riskwire-overview", 1),
    ("riskwire-overview", 3),
    ("riskwire-engine", 1),
    ("riskwire-engine", 7),
    ("riskwire-engine", 9),
    ("riskwire-sources", 4),
)
POINTS = 120  # points per series over the range
_UNITS = {"s": "seconds", "ops": "per second", "percentunit": "share", "short": ""}
_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")
_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def legend(query: Query, series: Series) -> str:
    """Grafana's ``legendFormat``, filled from the series' labels.

    >>> legend(Query("x", "{{topic}} · {{type}}"), Series({"topic": "t", "type": "e"}, []))
    't · e'
    """
    text = query.legend or ",".join(f"{k}={v}" for k, v in sorted(series.labels.items()))
    return _LABEL.sub(lambda m: series.labels.get(m.group(1), ""), text) or "value"


def _title(title: str, cjk_font: bool) -> str:
    return title if cjk_font else _CJK.sub("", title).strip()


def _has_cjk_font() -> bool:
    from matplotlib import font_manager

    return any("CJK" in font.name for font in font_manager.fontManager.ttflist)


def _draw_timeseries(ax: Any, panel: Panel, api: PrometheusAPI, start: float, end: float) -> None:
    step = max(1.0, (end - start) / POINTS)
    for query in panel.queries:
        for series in api.query_range(query.expr, start, end, step):
            xs = [(t - end) / 60 for t, _ in series.points]
            ax.plot(xs, [v for _, v in series.points], label=legend(query, series), lw=1.4)
    ax.set_xlabel("minutes before now")
    ax.set_ylabel(_UNITS.get(panel.unit, panel.unit))
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper left", ncol=2, frameon=False)


def _latest(panel: Panel, api: PrometheusAPI) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for query in panel.queries:
        for series in api.query(query.expr):
            value = series.points[-1][1]
            out.append((legend(query, series), 0.0 if math.isnan(value) else value))
    return sorted(out)


def _draw_latest(ax: Any, panel: Panel, api: PrometheusAPI) -> None:
    values = _latest(panel, api)
    if panel.kind == "piechart" and sum(v for _, v in values) > 0:
        shown = [(k, v) for k, v in values if v > 0]
        ax.pie([v for _, v in shown], labels=[k for k, _ in shown], autopct="%1.0f%%")
    elif panel.kind == "stat" and len(values) == 1:
        ax.text(0.5, 0.5, f"{values[0][1]:g}", ha="center", va="center", fontsize=40)
        ax.axis("off")
    else:
        ax.barh([k for k, _ in values], [v for _, v in values])
        ax.set_xlabel(_UNITS.get(panel.unit, panel.unit))


def render_panel(
    panel: Panel, api: PrometheusAPI, out: Path, *, minutes: float, cjk_font: bool
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    end = time.time()
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=90)
    try:
        if panel.kind == "timeseries":
            _draw_timeseries(ax, panel, api, end - minutes * 60, end)
        else:
            _draw_latest(ax, panel, api)
        ax.set_title(_title(panel.title, cjk_font), fontsize=11, loc="left")
        fig.tight_layout()
        path = out / f"{panel.dashboard}-{panel.panel_id}.png"
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


def render_report(
    api: PrometheusAPI,
    out: Path,
    *,
    minutes: float = 15.0,
    keys: Sequence[tuple[str, int]] = KEY_PANELS,
    panels: Sequence[Panel] | None = None,
) -> list[Path]:
    """One PNG per key panel in ``out``; answers their paths."""
    by_key = {(p.dashboard, p.panel_id): p for p in (panels or load_panels())}
    missing = [k for k in keys if k not in by_key]
    if missing:
        raise KeyError(f"no such dashboard panels: {missing}")
    out.mkdir(parents=True, exist_ok=True)
    cjk = _has_cjk_font()
    return [render_panel(by_key[k], api, out, minutes=minutes, cjk_font=cjk) for k in keys]
