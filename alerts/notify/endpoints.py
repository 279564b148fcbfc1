"""A department's webhook endpoints, stored in Redis with their secrets sealed::

    rw:wh:endpoints:v1   hash   endpoint id -> StoredEndpoint JSON (secret sealed)

Endpoints are few (at most ``RISKWIRE_WEBHOOK_MAX_ENDPOINTS`` per department, checked
atomically on creation), so one hash holds them all and a department's list is a filter
over it. An endpoint that answers HTTP 410 is disabled: it receives nothing until an admin
enables it again.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from pydantic import BaseModel, SecretStr
from redis.asyncio import Redis
from redis.exceptions import RedisError
from ulid import ULID

from alerts.notify.sealing import SecretBox
from alerts.notify.webhook import generate_secret, secret_key
from core.cas import AGAIN, Again, compare_and_set
from core.clock import Clock
from core.errors import QuotaExceeded, StoreError

ENDPOINTS_KEY = "rw:wh:endpoints:v1"
DEFAULT_MAX_PER_DEPARTMENT = 10
SWAP_ATTEMPTS = 5  # an endpoint written meanwhile is read again, this many times at most
_CREATE_LUA = """
-- KEYS: endpoints. ARGV: department, most per department, id, doc. 1 if added.
local n = 0
for _, doc in ipairs(redis.call('HVALS', KEYS[1])) do
  if cjson.decode(doc).department == ARGV[1] then n = n + 1 end
end
if n >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
return 1
"""
_SWAP_LUA = """
-- KEYS: endpoints. ARGV: id, the doc read, the new doc. 1 if it was still the doc read.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""


class Endpoint(BaseModel):
    """An endpoint with its secret in clear (``SecretStr``: masked in any repr)."""

    id: str
    department: str
    url: str
    description: str = ""
    created_at: datetime
    created_by: str | None = None
    disabled_at: datetime | None = None  # set when the endpoint answered 410 Gone
    secret: SecretStr


class _StoredEndpoint(BaseModel):
    id: str
    department: str
    url: str
    description: str = ""
    created_at: datetime
    created_by: str | None = None
    disabled_at: datetime | None = None
    sealed_secret: str


class EndpointStore:
    def __init__(
        self,
        redis: Redis,
        box: SecretBox,
        clock: Clock,
        *,
        max_per_department: int = DEFAULT_MAX_PER_DEPARTMENT,
    ) -> None:
        self._redis = redis
        self._box = box
        self._clock = clock
        self.max_per_department = max_per_department
        self._create = redis.register_script(_CREATE_LUA)
        self._swap = redis.register_script(_SWAP_LUA)

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
        ``ValueError`` for a secret that is not ``whsec_`` + base64 of 24 to 64 bytes;
        ``QuotaExceeded`` when the department has its most endpoints already."""
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
        args: list[Any] = [department, self.max_per_department, endpoint.id]
        args.append(stored.model_dump_json())
        try:
            added = await self._create(keys=[ENDPOINTS_KEY], args=args)
        except RedisError as exc:
            raise StoreError(f"writing a webhook endpoint failed: {exc}") from exc
        if not added:
            raise QuotaExceeded(
                f"the department has {self.max_per_department} webhook endpoints, the most "
                "allowed (RISKWIRE_WEBHOOK_MAX_ENDPOINTS); delete one first"
            )
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
        """Each department's enabled endpoint ids, oldest first, in one read (no secret
        opened)."""
        out: dict[str, list[str]] = {d: [] for d in departments}
        for doc in await self._docs(departments):
            if doc.disabled_at is None:
                out[doc.department].append(doc.id)
        return out

    async def set_disabled(self, endpoint_id: str, disabled_at: datetime | None) -> bool:
        """Disable (a time) or enable (``None``) an endpoint; ``False`` if there is none."""

        async def attempt(_: int) -> bool | Again:
            doc = await self._redis.hget(ENDPOINTS_KEY, endpoint_id)
            if not doc:
                return False
            stored = _StoredEndpoint.model_validate_json(doc)
            new = stored.model_copy(update={"disabled_at": disabled_at}).model_dump_json()
            swapped = await self._swap(keys=[ENDPOINTS_KEY], args=[endpoint_id, doc, new])
            return True if swapped else AGAIN  # written meanwhile: read it again

        try:
            return await compare_and_set(
                attempt,
                attempts=SWAP_ATTEMPTS,
                exhausted=lambda: StoreError(
                    "updating a webhook endpoint failed: too many concurrent writes"
                ),
            )
        except RedisError as exc:
            raise StoreError(f"updating a webhook endpoint failed: {exc}") from exc

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
