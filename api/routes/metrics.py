"""``/metrics``: Prometheus exposition."""

from __future__ import annotations

from fastapi import APIRouter, Response

from core.telemetry import render_metrics

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response)
async def metrics() -> Response:
    body, content_type = render_metrics()
    return Response(content=body, media_type=content_type)
