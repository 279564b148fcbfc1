"""``/api/v1/audit``: the audit log, newest first, for admins (their department's entries;
every entry for ``qianhai-authority`` admins), and a check of its hash chain. Reading the
log is itself recorded."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.audit import (
    AuditAction,
    AuditDep,
    AuditEntry,
    AuditReport,
    Purpose,
    verify_anchored,
)
from api.deps import Admin, RedisDep, SettingsDep
from api.schemas import AuditPublic, errors

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

SCAN_CAP = 100_000  # entries looked at for one page of a narrow filter


@router.get("", response_model=AuditPublic, responses=errors(401, 403, 422))
async def read_audit(
    admin: Admin,
    audit: AuditDep,
    purpose: Purpose,
    before: Annotated[
        int | None, Query(ge=1, le=2**53, description="entries before this seq")
    ] = None,
    account_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[AuditAction | None, Query()] = None,
    target: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPublic:
    """One page of entries, newest first; pass ``next`` as ``before`` for the next."""
    items: list[AuditEntry] = []
    looked, last = 0, before
    async for entry in audit.entries(before=before):
        looked, last = looked + 1, entry.seq
        if (
            admin.sees([entry.department])
            and (account_id is None or entry.account_id == account_id)
            and (action is None or entry.action == action)
            and (target is None or entry.target == target)
        ):
            items.append(entry)
            if len(items) == limit:
                break
        if looked >= SCAN_CAP:
            break
    more = last is not None and last > 1 and (len(items) == limit or looked >= SCAN_CAP)
    await audit.append(
        admin,
        AuditAction.AUDIT_READ,
        target or account_id or "audit log",
        purpose=purpose,
        detail={"before": before, "returned": len(items)},
    )
    return AuditPublic(items=items, next=last if more else None)


@router.get("/verify", response_model=AuditReport, responses=errors(401, 403))
async def verify_audit(admin: Admin, redis: RedisDep, settings: SettingsDep) -> AuditReport:
    """Walk the whole keyed chain and check it reaches the head anchored outside Redis:
    the first removed, altered, forged or missing entry, if any."""
    return await verify_anchored(redis, settings)
