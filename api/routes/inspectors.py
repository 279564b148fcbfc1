"""``/api/v1/inspections/inspectors``: the department's roster of inspectors, which its
draws pair enterprises with. Its admins replace it (recorded in the audit log with the
version before and after); its analysts and admins read it."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, status

from api.audit import AuditAction, AuditDep, Purpose
from api.deps import Admin, Analyst, RostersDep
from api.draw import inspectors_hash
from api.inspectors import Roster, RosterUpdate
from api.schemas import errors

router = APIRouter(prefix="/api/v1/inspections/inspectors", tags=["inspections"])


@router.get("", response_model=Roster, responses=errors(401, 403))
async def get_roster(account: Analyst, rosters: RostersDep) -> Roster:
    """The caller's department's roster (empty, version 0, until an admin sets it)."""
    return await rosters.read(account.department)


@router.put("", response_model=Roster, responses=errors(401, 403, 409, 422))
async def replace_roster(
    admin: Admin, body: RosterUpdate, rosters: RostersDep, audit: AuditDep, purpose: Purpose
) -> Roster:
    """Replace the department's roster: every inspector with the enterprises (usccs) it
    declared a conflict with."""
    before = await rosters.read(admin.department)
    try:
        roster = await rosters.put(
            admin.department,
            body.items,
            by=admin.actor(),
            now=datetime.now(UTC),
            expected_version=body.expected_version,
        )
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    if roster is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "执法人员名录已被修改，请刷新后重试")
    await audit.append(
        admin,
        AuditAction.INSPECTORS_UPDATE,
        admin.department,
        purpose=purpose,
        detail={
            "before": {"version": before.version, "hash": inspectors_hash(before.inspectors())},
            "after": {"version": roster.version, "hash": inspectors_hash(roster.inspectors())},
            "inspectors": len(roster.items),
        },
    )
    return roster
