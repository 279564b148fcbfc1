"""Dependency aliases for the routes (``CurrentAccount``, ``RedisDep``, ...).

What the app holds comes through :func:`api.held.held`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from redis.asyncio import Redis

from alerts.store import AlertStore
from api.accounts import Account, Accounts, Role
from api.draw_store import DrawStore
from api.held import held
from api.inspectors import Rosters
from core.errors import AuthError
from core.settings import Settings
from processors.grades import GradeStore
from processors.profiles.redis import RedisProfileStore
from rules.live import LiveRules
from rules.shadow_store import ShadowRules

bearer = HTTPBearer(auto_error=False, description="An account's bearer token")


SettingsDep = Annotated[Settings, Depends(held("settings", Settings))]
RedisDep = Annotated[Redis, Depends(held("redis", Redis))]
AccountsDep = Annotated[Accounts, Depends(held("accounts", Accounts))]
AlertStoreDep = Annotated[AlertStore, Depends(held("alert_store", AlertStore))]
ProfilesDep = Annotated[RedisProfileStore, Depends(held("profiles", RedisProfileStore))]
GradesDep = Annotated[GradeStore, Depends(held("grades", GradeStore))]
DrawsDep = Annotated[DrawStore, Depends(held("draws", DrawStore))]
RostersDep = Annotated[Rosters, Depends(held("rosters", Rosters))]
LiveRulesDep = Annotated[LiveRules, Depends(held("live_rules", LiveRules))]
ShadowRulesDep = Annotated[ShadowRules, Depends(held("shadow_rules", ShadowRules))]


async def current_account(
    accounts: AccountsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Account:
    """The caller's account; 401 for a missing, malformed, unknown or revoked token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        return await accounts.authenticate(credentials.credentials)
    except AuthError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from None


CurrentAccount = Annotated[Account, Depends(current_account)]


def require(*roles: Role) -> Any:
    """A dependency that answers the caller's account if it holds one of ``roles``, else 403.

    Usage: ``account: Annotated[Account, Depends(require(Role.ANALYST, Role.ADMIN))]``.
    """

    async def dependency(account: CurrentAccount) -> Account:
        if account.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"the {account.role} role may not do this"
            )
        return account

    return dependency


DutyOfficer = Annotated[Account, Depends(require(Role.DUTY_OFFICER, Role.ADMIN))]
Analyst = Annotated[Account, Depends(require(Role.ANALYST, Role.ADMIN))]
Admin = Annotated[Account, Depends(require(Role.ADMIN))]


async def oversight_admin(account: Admin) -> Account:
    """An admin of the platform (``qianhai-authority``), else 403: what applies to every
    department (the rules) is theirs alone to change."""
    if not account.oversees_all:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "only qianhai-authority admins may change what applies to all",
        )
    return account


OversightAdmin = Annotated[Account, Depends(oversight_admin)]
