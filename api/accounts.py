"""Accounts, bearer tokens and WebSocket tickets, stored in Redis.

A token is shown once, when created, and stored only as its SHA-256; a ticket is a
short-lived single-use token for ``/ws/alerts`` (browsers cannot set WebSocket headers)::

    rw:acct:v1:<sha256(token)>   hash  account JSON
    rw:ticket:v1:<ticket>        string  account JSON, with a TTL; deleted on first use
"""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

from pydantic import BaseModel
from redis.asyncio import Redis
from ulid import ULID

from core.errors import AuthError, Forbidden

ACCOUNT_KEY = "rw:acct:v1:{digest}"
TICKET_KEY = "rw:ticket:v1:{ticket}"
TOKEN_PREFIX = "rwt_"


class Role(StrEnum):
    DUTY_OFFICER = "duty_officer"
    ANALYST = "analyst"
    ADMIN = "admin"


class Account(BaseModel):
    account_id: str
    name: str
    department: str
    role: Role
    revoked: bool = False

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise Forbidden(f"role {self.role} may not do this")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def create(self, *, name: str, department: str, role: Role) -> tuple[Account, str]:
        """A new account and its bearer token (returned once, never stored in clear)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        account = Account(account_id=str(ULID()), name=name, department=department, role=role)
        await self._redis.set(ACCOUNT_KEY.format(digest=_digest(token)), account.model_dump_json())
        return account, token

    async def authenticate(self, token: str | None) -> Account:
        if not token:
            raise AuthError("missing bearer token")
        raw = await self._redis.get(ACCOUNT_KEY.format(digest=_digest(token)))
        if raw is None:
            raise AuthError("unknown token")
        account = Account.model_validate_json(raw)
        if account.revoked:
            raise AuthError("revoked token")
        return account

    async def revoke(self, token: str) -> bool:
        key = ACCOUNT_KEY.format(digest=_digest(token))
        raw = await self._redis.get(key)
        if raw is None:
            return False
        account = Account.model_validate_json(raw).model_copy(update={"revoked": True})
        await self._redis.set(key, account.model_dump_json())
        return True

    async def issue_ticket(self, account: Account, ttl_s: int) -> str:
        ticket = secrets.token_urlsafe(24)
        await self._redis.set(TICKET_KEY.format(ticket=ticket), account.model_dump_json(), ex=ttl_s)
        return ticket

    async def redeem_ticket(self, ticket: str | None) -> Account:
        """The ticket's account; the ticket is gone after this call (single use)."""
        if not ticket:
            raise AuthError("missing ticket")
        raw = await self._redis.getdel(TICKET_KEY.format(ticket=ticket))
        if raw is None:
            raise AuthError("unknown, used or expired ticket")
        return Account.model_validate_json(raw)
