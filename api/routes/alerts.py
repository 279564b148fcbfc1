"""``/api/v1/alerts``: the alerts routed to the caller's department, filtered and paged, and
the officers' lifecycle actions on one of them (acknowledge, assign, resolve, dismiss).

An alert of another department answers 404, exactly as an unknown id does.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Path, Query, status

from alerts.lifecycle import AlertNotFound, InvalidTransition, KeptChanging, act
from alerts.notify.inbound import timeline as feedback_timeline
from alerts.store import DOC_KEY
from api.accounts import Account
from api.audit import AuditAction, AuditDep, Purpose
from api.deps import AccountsDep, AlertStoreDep, CurrentAccount, DutyOfficer, RedisDep
from api.schemas import AlertAssign, AlertDetail, AlertPublic, AlertsPublic, AlertUpdate, errors
from streams.alert import Actor, Alert, AlertAction, AlertStatus, Severity

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

AlertId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="the alert's id",
        examples=["01JZ8Q4W7M3X9V2K5T6R8N0B1C"],
    ),
]
NOT_FOUND = "告警不存在或不属于本部门"
_AUDITED: dict[AlertAction, AuditAction] = {
    AlertAction.ACKNOWLEDGE: AuditAction.ALERT_ACKNOWLEDGE,
    AlertAction.ASSIGN: AuditAction.ALERT_ASSIGN,
    AlertAction.RESOLVE: AuditAction.ALERT_RESOLVE,
    AlertAction.DISMISS: AuditAction.ALERT_DISMISS,
}


def _utc(when: datetime | None) -> datetime | None:
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


def _matcher(
    account: Account,
    status: AlertStatus | None,
    rule_id: str | None,
    severity: Severity | None,
    uscc: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Callable[[dict[str, Any]], bool]:
    """A filter over the stored JSON (parsed with orjson: no model built per alert)."""

    def matches(doc: dict[str, Any]) -> bool:
        if not account.sees(doc.get("departments", ())):
            return False
        if (
            (status and doc.get("status") != status)
            or (rule_id and doc.get("rule_id") != rule_id)
            or (severity and doc.get("severity") != severity)
            or (uscc and uscc not in doc.get("enterprises", ()))
        ):
            return False
        if since or until:
            at = datetime.fromisoformat(doc["event_time"])
            if (since and at < since) or (until and at > until):
                return False
        return True

    return matches


@router.get("", response_model=AlertsPublic, responses=errors(401, 422))
async def list_alerts(
    account: CurrentAccount,
    redis: RedisDep,
    audit: AuditDep,
    purpose: Purpose,
    status: Annotated[AlertStatus | None, Query()] = None,
    rule_id: Annotated[str | None, Query(max_length=64)] = None,
    severity: Annotated[Severity | None, Query()] = None,
    uscc: Annotated[str | None, Query(max_length=18)] = None,
    since: Annotated[datetime | None, Query(description="event_time at or after")] = None,
    until: Annotated[datetime | None, Query(description="event_time at or before")] = None,
    cursor: Annotated[str | None, Query(max_length=64, description="the previous next")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AlertsPublic:
    """Newest first (alert ids sort by creation). A listing filtered by ``uscc`` is a query
    of that enterprise and is written to the audit log."""
    matches = _matcher(account, status, rule_id, severity, uscc, _utc(since), _utc(until))
    found: list[tuple[str, bytes]] = []
    async for key, raw in redis.hscan_iter(DOC_KEY, count=1000):
        alert_id = key.decode() if isinstance(key, bytes) else key
        if cursor and alert_id >= cursor:
            continue
        if matches(orjson.loads(raw)):
            found.append((alert_id, raw))
    page = heapq.nlargest(limit + 1, found)
    items = [AlertPublic.model_validate_json(raw) for _, raw in page[:limit]]
    if uscc:
        await audit.append(account, AuditAction.ALERTS_QUERY, uscc, purpose=purpose)
    return AlertsPublic(items=items, next=items[-1].alert_id if len(page) > limit else None)


@router.get("/{alert_id}", response_model=AlertDetail, responses=errors(401, 404, 422))
async def get_alert(
    account: CurrentAccount, store: AlertStoreDep, redis: RedisDep, alert_id: AlertId
) -> AlertDetail:
    """The alert with its timeline and what its receivers reported back."""
    alert = await store.get(alert_id)
    if alert is None or not account.sees(alert.departments):
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    return AlertDetail(**alert.model_dump(), feedback=await feedback_timeline(redis, alert_id))


async def _act(
    action: AlertAction,
    alert_id: str,
    account: Account,
    store: AlertStoreDep,
    audit: AuditDep,
    purpose: str | None,
    note: str,
    assignee: Actor | None = None,
) -> Alert:
    try:
        alert, seq = await act(
            store,
            alert_id,
            action,
            by=account.actor(),
            now=lambda: datetime.now(UTC),
            visible=lambda a: account.sees(a.departments),
            note=note,
            assignee=assignee,
        )
    except AlertNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND) from None
    except (InvalidTransition, KeptChanging) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    detail: dict[str, Any] = {"status": alert.status, "revision": alert.revision, "seq": seq}
    if note:
        detail["note"] = note
    if assignee is not None:
        detail["assignee"] = assignee.account_id
    await audit.append(account, _AUDITED[action], alert_id, purpose=purpose, detail=detail)
    return alert


_ACTION_RESPONSES = errors(401, 403, 404, 409, 422)


@router.post("/{alert_id}/acknowledge", response_model=AlertPublic, responses=_ACTION_RESPONSES)
async def acknowledge(
    account: DutyOfficer,
    store: AlertStoreDep,
    audit: AuditDep,
    purpose: Purpose,
    alert_id: AlertId,
    body: AlertUpdate | None = None,
) -> Alert:
    """Open → acknowledged: the officer has seen it (new evidence reopens it)."""
    note = body.note if body else ""
    return await _act(AlertAction.ACKNOWLEDGE, alert_id, account, store, audit, purpose, note)


@router.post("/{alert_id}/assign", response_model=AlertPublic, responses=_ACTION_RESPONSES)
async def assign(
    account: DutyOfficer,
    store: AlertStoreDep,
    accounts: AccountsDep,
    audit: AuditDep,
    purpose: Purpose,
    alert_id: AlertId,
    body: AlertAssign,
) -> Alert:
    """Assign (or re-assign) an open alert to an active account of the caller's department."""
    target = await accounts.get(body.account_id)
    if target is None or target.revoked or target.department != account.department:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "指派对象必须是本部门的有效账号")
    return await _act(
        AlertAction.ASSIGN, alert_id, account, store, audit, purpose, body.note, target.actor()
    )


@router.post("/{alert_id}/resolve", response_model=AlertPublic, responses=_ACTION_RESPONSES)
async def resolve(
    account: DutyOfficer,
    store: AlertStoreDep,
    audit: AuditDep,
    purpose: Purpose,
    alert_id: AlertId,
    body: AlertUpdate | None = None,
) -> Alert:
    """Close an open alert as handled."""
    note = body.note if body else ""
    return await _act(AlertAction.RESOLVE, alert_id, account, store, audit, purpose, note)


@router.post("/{alert_id}/dismiss", response_model=AlertPublic, responses=_ACTION_RESPONSES)
async def dismiss(
    account: DutyOfficer,
    store: AlertStoreDep,
    audit: AuditDep,
    purpose: Purpose,
    alert_id: AlertId,
    body: AlertUpdate | None = None,
) -> Alert:
    """Close an open alert as not needing action (a false positive, a duplicate)."""
    note = body.note if body else ""
    return await _act(AlertAction.DISMISS, alert_id, account, store, audit, purpose, note)
