"""``/api/v1/alerts``: the alerts routed to the caller's department, filtered and paged, and
the officers' lifecycle actions on one of them (acknowledge, assign, resolve, dismiss).

An alert of another department answers 404, exactly as an unknown id does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status

from alerts.index import AlertQuery, BadCursor, decode_cursor, list_page
from alerts.lifecycle import AlertNotFound, InvalidTransition, KeptChanging, act
from alerts.notify.inbound import timeline as feedback_timeline
from alerts.store import AlertStore
from api.accounts import Account
from api.audit import AuditAction, AuditDep, AuditLog, Purpose
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
_UNPROCESSABLE = status.HTTP_422_UNPROCESSABLE_CONTENT  # (the listing's `status` shadows it)
_AUDITED: dict[AlertAction, AuditAction] = {
    AlertAction.ACKNOWLEDGE: AuditAction.ALERT_ACKNOWLEDGE,
    AlertAction.ASSIGN: AuditAction.ALERT_ASSIGN,
    AlertAction.RESOLVE: AuditAction.ALERT_RESOLVE,
    AlertAction.DISMISS: AuditAction.ALERT_DISMISS,
}


def _utc(when: datetime | None) -> datetime | None:
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


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
    cursor: Annotated[
        str | None, Query(max_length=128, description="the previous page's next (opaque)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    """Newest first (by creation), read from the per-department time-ordered indices
    (:mod:`alerts.index`): each request examines a bounded number of alerts, so a page of
    a narrow filter may be short with a non-null ``next``; only ``next: null`` means the
    end. A listing filtered by ``uscc`` is a query of that enterprise and is written to
    the audit log."""
    query = AlertQuery(
        department=None if account.oversees_all else account.department,
        status=status,
        rule_id=rule_id,
        severity=severity,
        uscc=uscc,
        since=_utc(since),
        until=_utc(until),
    )
    try:
        after = decode_cursor(cursor) if cursor else None
    except BadCursor as exc:
        raise HTTPException(_UNPROCESSABLE, str(exc)) from None
    page = await list_page(redis, query, after=after, limit=limit)
    if uscc:
        await audit.append(account, AuditAction.ALERTS_QUERY, uscc, purpose=purpose)
    # The stored JSON as it is, like the live feed's: every document was written by
    # Alert.model_dump_json, and validating a page of them cost more than the rest of it.
    body = b'{"items":[' + b",".join(page.docs) + b'],"next":' + orjson.dumps(page.next) + b"}"
    return Response(body, media_type="application/json")


@router.get("/{alert_id}", response_model=AlertDetail, responses=errors(401, 404, 422))
async def get_alert(
    account: CurrentAccount, store: AlertStoreDep, redis: RedisDep, alert_id: AlertId
) -> AlertDetail:
    """The alert with its timeline and what its receivers reported back."""
    alert = await store.get(alert_id)
    if alert is None or not account.sees(alert.departments):
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    return AlertDetail(**alert.model_dump(), feedback=await feedback_timeline(redis, alert_id))


@dataclass(frozen=True, slots=True)
class Acting:
    """An officer acting on one alert: who, on which, why, and where it is stored."""

    account: Account
    store: AlertStore
    audit: AuditLog
    purpose: str | None
    alert_id: str

    async def act(self, action: AlertAction, note: str, assignee: Actor | None = None) -> Alert:
        """Apply ``action`` (404 for an alert the officer may not see, 409 for a move its
        state refuses) and write it to the audit log."""
        account = self.account
        try:
            alert, seq = await act(
                self.store,
                self.alert_id,
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
        audited = _AUDITED[action]
        await self.audit.append(
            account, audited, self.alert_id, purpose=self.purpose, detail=detail
        )
        return alert


async def _acting(
    account: DutyOfficer, store: AlertStoreDep, audit: AuditDep, purpose: Purpose, alert_id: AlertId
) -> Acting:
    return Acting(account, store, audit, purpose, alert_id)


ActingDep = Annotated[Acting, Depends(_acting)]
_ACTION_RESPONSES = errors(401, 403, 404, 409, 422)


@router.post("/{alert_id}/acknowledge", response_model=AlertPublic, responses=_ACTION_RESPONSES)
async def acknowledge(acting: ActingDep, body: AlertUpdate | None = None) -> Alert:
    """Open → acknowledged: the officer has seen it (new evidence reopens it)."""
    return await acting.act(AlertAction.ACKNOWLEDGE, body.note if body else "")


@router.post("/{alert_id}/assign", response_model=AlertPublic, responses=_ACTION_RESPONSES)
async def assign(acting: ActingDep, accounts: AccountsDep, body: AlertAssign) -> Alert:
    """Assign (or re-assign) an open alert to an active account of the caller's department."""
    target = await accounts.get(body.account_id)
    if target is None or target.revoked or target.department != acting.account.department:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "指派对象必须是本部门的有效账号")
    return await acting.act(AlertAction.ASSIGN, body.note, target.actor())


@router.post("/{alert_id}/resolve", response_model=AlertPublic, responses=_ACTION_RESPONSES)
async def resolve(acting: ActingDep, body: AlertUpdate | None = None) -> Alert:
    """Close an open alert as handled."""
    return await acting.act(AlertAction.RESOLVE, body.note if body else "")


@router.post("/{alert_id}/dismiss", response_model=AlertPublic, responses=_ACTION_RESPONSES)
async def dismiss(acting: ActingDep, body: AlertUpdate | None = None) -> Alert:
    """Close an open alert as not needing action (a false positive, a duplicate)."""
    return await acting.act(AlertAction.DISMISS, body.note if body else "")
