"""``/api/v1/accounts``: a department's accounts (admins list, create and revoke them; a
``qianhai-authority`` admin does so for every department), and the accounts a duty
officer may assign an alert to. Tokens are shown once, at creation, and never stored."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status

from api.accounts import Account
from api.audit import AuditAction, AuditDep, Purpose
from api.deps import AccountsDep, Admin, DutyOfficer, SettingsDep
from api.schemas import AccountCreate, AccountCreated, AccountPublic, AccountsPublic, errors

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])

NOT_FOUND = "账号不存在或不属于本部门"


def _public(account: Account) -> AccountPublic:
    return AccountPublic.model_validate(account.model_dump())


@router.get("", response_model=AccountsPublic, responses=errors(401, 403, 422))
async def list_accounts(
    admin: Admin,
    accounts: AccountsDep,
    department: Annotated[str | None, Query(max_length=64)] = None,
) -> AccountsPublic:
    """The caller's department's accounts (any department's, for oversight admins)."""
    wanted = department if admin.oversees_all else admin.department
    return AccountsPublic(items=[_public(a) for a in await accounts.list(wanted)])


@router.get("/assignees", response_model=AccountsPublic, responses=errors(401, 403))
async def assignees(officer: DutyOfficer, accounts: AccountsDep) -> AccountsPublic:
    """The active accounts of the caller's department: who an alert may be assigned to."""
    found = await accounts.list(officer.department)
    return AccountsPublic(items=[_public(a) for a in found if not a.revoked])


@router.post("", response_model=AccountCreated, status_code=201, responses=errors(401, 403, 422))
async def create_account(
    admin: Admin,
    body: AccountCreate,
    accounts: AccountsDep,
    settings: SettingsDep,
    audit: AuditDep,
    purpose: Purpose,
) -> AccountCreated:
    """A new account and its bearer token, shown this once."""
    department = body.department or admin.department
    if department != admin.department and not admin.oversees_all:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "只能为本部门创建账号")
    if department not in settings.departments:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"未知部门{department}")
    account, token = await accounts.create(name=body.name, department=department, role=body.role)
    await audit.append(
        admin,
        AuditAction.ACCOUNT_CREATE,
        account.account_id,
        purpose=purpose,
        detail={"department": department, "role": account.role},
    )
    return AccountCreated(**_public(account).model_dump(), token=token)


@router.post(
    "/{account_id}/revoke", response_model=AccountPublic, responses=errors(401, 403, 404, 422)
)
async def revoke_account(
    admin: Admin,
    account_id: Annotated[str, Path(min_length=1, max_length=64)],
    accounts: AccountsDep,
    audit: AuditDep,
    purpose: Purpose,
) -> AccountPublic:
    """Revoke an account: its token answers 401 from the next request on."""
    target = await accounts.get(account_id)
    if target is None or not admin.sees([target.department]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    revoked = await accounts.revoke_id(account_id)
    if revoked is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    await audit.append(admin, AuditAction.ACCOUNT_REVOKE, account_id, purpose=purpose)
    return _public(revoked)
