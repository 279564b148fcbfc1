"""``GET /api/v1/alerts``: the alerts routed to the caller's department, filtered and paged."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from alerts.store import DOC_KEY
from api.deps import CurrentAccount, RedisDep
from streams.alert import Alert, AlertStatus, Severity

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


class AlertsPublic(BaseModel):
    items: list[Alert]
    next: str | None


@router.get("", response_model=AlertsPublic)
async def list_alerts(
    account: CurrentAccount,
    redis: RedisDep,
    status: Annotated[AlertStatus | None, Query()] = None,
    rule_id: Annotated[str | None, Query(max_length=64)] = None,
    severity: Annotated[Severity | None, Query()] = None,
    uscc: Annotated[str | None, Query(max_length=18)] = None,
    since: Annotated[datetime | None, Query(description="event_time at or after")] = None,
    until: Annotated[datetime | None, Query(description="event_time at or before")] = None,
    cursor: Annotated[str | None, Query(description="the previous page's next")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AlertsPublic:
    """Newest first (alert ids sort by creation)."""
    matched: list[Alert] = []
    async for _, raw in redis.hscan_iter(DOC_KEY, count=1000):
        alert = Alert.model_validate_json(raw)
        if account.department not in alert.departments:
            continue
        if (
            (status and alert.status != status)
            or (rule_id and alert.rule_id != rule_id)
            or (severity and alert.severity != severity)
            or (uscc and uscc not in alert.enterprises)
            or (since and alert.event_time < since)
            or (until and alert.event_time > until)
            or (cursor and alert.alert_id >= cursor)
        ):
            continue
        matched.append(alert)
    matched.sort(key=lambda a: a.alert_id, reverse=True)
    page = matched[:limit]
    return AlertsPublic(items=page, next=page[-1].alert_id if len(matched) > limit else None)
