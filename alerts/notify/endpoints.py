"""A department's webhook endpoints, stored in Redis with their secrets sealed::

    rw:wh:endpoints:v1   hash   endpoint id -> StoredEndpoint JSON (secret sealed)

Endpoints are few (a handful per department), so one hash holds them all and a
department's list is a filter over it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from pydantic import BaseModel, SecretStr
from redis.asyncio import Redis
from redis.exceptions import RedisError
from ulid import ULID

from alerts.notify.sealing import SecretBox
from alerts.notify.webhook import generate_secret, secret_key
from core.clock import Clock
from core.errors import StoreError

ENDPOINTS_KEY = "rw:wh:endpoints:v1"


class Endpoint(BaseModel):
    """An endpoint with its secret in clear (``SecretStr``: masked in any repr)."""

    id: str
    department: str
    url: str
    description: str = ""
    created_at: datetime
    created_by: str | None = None
    secret: SecretStr


class _StoredEndpoint(BaseModel):
    id: str
    department: str
    url: str
    description: str = ""
    created_at: datetime
    created_by: str | None = None
    sealed_secret: str


class EndpointStore:
    def __init__(self, redis: Redis, box: SecretBox, clock: Clock) -> None:
        self._redis = redis
        self._box = box
        self._clock = clock

    async def create(
        self,
        department: str,
        url: str,
        *,
        description: str = "",
        secret: str | None = None,
        created_by: str | None = None,
    ) -> Endpoint:
        """A new endpoint; without ``secret`` one is generated (the caller shows it once).
        ``ValueError`` for a secret that is not ``whsec_`` + base64 of 24 to 64 bytes."""
        secret = secret if secret is not None else generate_secret()
        secret_key(secret)
        now = self._clock.now()
        endpoint = Endpoint(
            id=str(ULID.from_datetime(now)),
            department=department,
            url=url,
            description=description,
            created_at=now,
            created_by=created_by,
            secret=SecretStr(secret),
        )
        stored = _StoredEndpoint(
            **endpoint.model_dump(exclude={"secret"}),
            sealed_secret=self._box.seal(secret, context=endpoint.id),
        )
        try:
            await self._redis.hset(ENDPOINTS_KEY, endpoint.id, stored.model_dump_json())
        except RedisError as exc:
            raise StoreError(f"writing a webhook endpoint failed: {exc}") from exc
        return endpoint

    async def get(self, endpoint_id: str) -> Endpoint | None:
        try:
            doc = await self._redis.hget(ENDPOINTS_KEY, endpoint_id)
        except RedisError as exc:
            raise StoreError(f"reading a webhook endpoint failed: {exc}") from exc
        return self._open(_StoredEndpoint.model_validate_json(doc)) if doc else None

    async def of_department(self, department: str) -> list[Endpoint]:
        """The department's endpoints, oldest first."""
        return [self._open(doc) for doc in await self._docs([department])]

    async def endpoint_ids(self, departments: Collection[str]) -> dict[str, list[str]]:
        """Each department's endpoint ids, oldest first, in one read (no secret opened)."""
        out: dict[str, list[str]] = {d: [] for d in departments}
        for doc in await self._docs(departments):
            out[doc.department].append(doc.id)
        return out

    async def _docs(self, departments: Collection[str]) -> list[_StoredEndpoint]:
        try:
            docs = await self._redis.hvals(ENDPOINTS_KEY)
        except RedisError as exc:
            raise StoreError(f"reading webhook endpoints failed: {exc}") from exc
        stored = [_StoredEndpoint.model_validate_json(doc) for doc in docs]
        return sorted((e for e in stored if e.department in departments), key=lambda e: e.id)

    async def delete(self, department: str, endpoint_id: str) -> bool:
        """Remove the department's endpoint; its waiting deliveries are dropped when due."""
        endpoint = await self.get(endpoint_id)
        if endpoint is None or endpoint.department != department:
            return False
        try:
            return bool(await self._redis.hdel(ENDPOINTS_KEY, endpoint_id))
        except RedisError as exc:
            raise StoreError(f"deleting a webhook endpoint failed: {exc}") from exc

    def _open(self, stored: _StoredEndpoint) -> Endpoint:
        secret = self._box.open(stored.sealed_secret, context=stored.id)
        return Endpoint(**stored.model_dump(exclude={"sealed_secret"}), secret=SecretStr(secret))
