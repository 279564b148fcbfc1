"""Dependency aliases for the routes (``CurrentAccount``, ``RedisDep``, ...).

The getters are ``async`` although they do no I/O: FastAPI runs a plain ``def``
dependency in a worker thread, a hand-off that cost more than a listing's Redis call."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from redis.asyncio import Redis

from alerts.store import AlertStore
from api.accounts import Account, Accounts, Role
from api.draw_store import DrawStore
from core.errors import AuthError
from core.settings import Settings
from processors.grades import GradeStore
from processors.profiles.redis import RedisProfileStore
from rules.live import LiveRules
from rules.shadow_store import ShadowRules

bearer = HTTPBearer(auto_error=False, description="An account's bearer token")


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_redis(request: Request) -> Redis:
    redis: Redis = request.app.state.redis
    return redis


async def get_accounts(request: Request) -> Accounts:
    accounts: Accounts = request.app.state.accounts
    return accounts


async def get_alert_store(request: Request) -> AlertStore:
    store: AlertStore = request.app.state.alert_store
    return store


async def get_profiles(request: Request) -> RedisProfileStore:
    store: RedisProfileStore = request.app.state.profiles
    return store


async def get_grades(request: Request) -> GradeStore:
    store: GradeStore = request.app.state.grades
    return store


async def get_draws(request: Request) -> DrawStore:
    return DrawStore(request.app.state.redis)


async def get_live_rules(request: Request) -> LiveRules:
    live: LiveRules = request.app.state.live_rules
    return live


async def get_shadow_rules(request: Request) -> ShadowRules:
    shadow: ShadowRules = request.app.state.shadow_rules
    return shadow


SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[Redis, Depends(get_redis)]
AccountsDep = Annotated[Accounts, Depends(get_accounts)]
AlertStoreDep = Annotated[AlertStore, Depends(get_alert_store)]
ProfilesDep = Annotated[RedisProfileStore, Depends(get_profiles)]
GradesDep = Annotated[GradeStore, Depends(get_grades)]
DrawsDep = Annotated[DrawStore, Depends(get_draws)]
LiveRulesDep = Annotated[LiveRules, Depends(get_live_rules)]
ShadowRulesDep = Annotated[ShadowRules, Depends(get_shadow_rules)]


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
