"""Accounts, bearer tokens and WebSocket tickets, stored in Redis.

A token is shown once, when created, and stored only as its SHA-256; a ticket is a
short-lived single-use token for ``/ws/alerts`` (browsers cannot set WebSocket headers)::

    rw:acct:v1:<sha256(token)>   string  account JSON
    rw:acct:ids:v1               hash    account_id -> sha256(token), to list and revoke by id
    rw:ticket:v1:<ticket>        string  account JSON, with a TTL; deleted on first use

The keys sit in different hash slots of a Redis Cluster, so no command or transaction
spans two of them: an account is written index first, then its document (see
:meth:`Accounts.create`).

A department sees only what is routed to it; ``qianhai-authority`` admins see everything
(:meth:`Account.sees`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from redis.asyncio import Redis
from ulid import ULID

from core.errors import AuthError, Forbidden
from core.redis_reply import text_of
from streams.alert import Actor
from streams.rule_catalog import OVERSIGHT_DEPARTMENT

ACCOUNT_KEY = "rw:acct:v1:{digest}"
INDEX_KEY = "rw:acct:ids:v1"
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
    created_at: datetime | None = None

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise Forbidden(f"role {self.role} may not do this")

    @property
    def oversees_all(self) -> bool:
        """A ``qianhai-authority`` admin: sees every department's alerts and accounts."""
        return self.department == OVERSIGHT_DEPARTMENT and self.role is Role.ADMIN

    def sees(self, departments: Collection[str]) -> bool:
        """Whether something routed to ``departments`` is visible to this account."""
        return self.oversees_all or self.department in departments

    def actor(self) -> Actor:
        return Actor(account_id=self.account_id, name=self.name, department=self.department)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def create(self, *, name: str, department: str, role: Role) -> tuple[Account, str]:
        """A new account and its bearer token (returned once, never stored in clear)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        account = Account(
            account_id=str(ULID()),
            name=name,
            department=department,
            role=role,
            created_at=datetime.now(UTC),
        )
        digest = _digest(token)
        # Two slots, so two writes, index first: a crash in between leaves an index entry
        # with no document, which every reader skips, and no token was handed out. The
        # other order could leave a token that works but that no one can list or revoke.
        await self._redis.hset(INDEX_KEY, account.account_id, digest)
        await self._redis.set(ACCOUNT_KEY.format(digest=digest), account.model_dump_json())
        return account, token

    async def get(self, account_id: str) -> Account | None:
        """The account with this id (revoked or not), or ``None``."""
        digest: Any = await self._redis.hget(INDEX_KEY, account_id)
        if digest is None:
            return None
        raw = await self._redis.get(ACCOUNT_KEY.format(digest=text_of(digest)))
        return Account.model_validate_json(raw) if raw else None

    async def list(self, department: str | None = None) -> list[Account]:
        """Every account (of ``department`` when given), oldest first."""
        index: Any = await self._redis.hgetall(INDEX_KEY)
        digests = [text_of(d) for _, d in sorted(index.items())]
        if not digests:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:  # no MGET: many slots
            for d in digests:
                pipe.get(ACCOUNT_KEY.format(digest=d))
            docs: list[Any] = await pipe.execute()
        accounts = [Account.model_validate_json(doc) for doc in docs if doc]
        return [a for a in accounts if department is None or a.department == department]

    async def revoke_id(self, account_id: str) -> Account | None:
        """Revoke the account with this id: the revoked account, or ``None`` if unknown."""
        digest: Any = await self._redis.hget(INDEX_KEY, account_id)
        if digest is None:
            return None
        return await self._revoke(text_of(digest))

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
        return await self._revoke(_digest(token)) is not None

    async def _revoke(self, digest: str) -> Account | None:
        """Mark the account stored under ``digest`` revoked: it, or ``None`` if unknown."""
        key = ACCOUNT_KEY.format(digest=digest)
        raw = await self._redis.get(key)
        if raw is None:
            return None
        account = Account.model_validate_json(raw).model_copy(update={"revoked": True})
        await self._redis.set(key, account.model_dump_json())
        return account

    async def issue_ticket(self, account: Account, ttl_s: int) -> str:
        ticket = secrets.token_urlsafe(24)
        await self._redis.set(TICKET_KEY.format(ticket=ticket), account.model_dump_json(), ex=ttl_s)
        return ticket

    async def redeem_ticket(self, ticket: str | None) -> Account:
        """The ticket's account if it is still active; the ticket is used up either way."""
        if not ticket:
            raise AuthError("missing ticket")
        raw = await self._redis.getdel(TICKET_KEY.format(ticket=ticket))
        if raw is None:
            raise AuthError("unknown, used or expired ticket")
        account = Account.model_validate_json(raw)
        if not await self.active(account.account_id):  # revoked since the ticket was issued
            raise AuthError("revoked account")
        return account

    async def active(self, account_id: str) -> bool:
        """Whether the account exists and is not revoked (read now, never cached)."""
        current = await self.get(account_id)
        return current is not None and not current.revoked
