"""Each department's roster of inspectors, the pool its draws pair enterprises with, kept
by the department's admins (so the analyst who draws does not choose the pool)::

    rw:inspections:roster:v1:<department>   string  Roster JSON (with its version)

Conflicts are stored normalised (trimmed, upper case, sorted, unique), exactly as the
draw and its record use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.draw import Inspector
from core.errors import StoreError
from streams.alert import Actor

ROSTER_KEY: Final = "rw:inspections:roster:v1:{department}"
MAX_INSPECTORS: Final = 1000
MAX_CONFLICTS_TOTAL: Final = 100_000

_PUT_LUA = """
-- KEYS: roster. ARGV: expected version, new document (its version field set by us).
local doc = redis.call('GET', KEYS[1])
local version = 0
if doc then version = cjson.decode(doc)['version'] end
if tonumber(ARGV[1]) >= 0 and version ~= tonumber(ARGV[1]) then return -1 end
redis.call('SET', KEYS[1], ARGV[2])
return version + 1
"""


class RosterEntry(BaseModel):
    inspector_id: str = Field(min_length=1, max_length=64, pattern=r"^[^:,\s]+$")
    name: str = Field(default="", max_length=100)
    conflicts: list[str] = Field(
        default_factory=list, max_length=10_000, description="usccs it may not inspect"
    )


class Roster(BaseModel):
    department: str
    version: int = 0
    items: list[RosterEntry] = Field(default_factory=list)
    updated_at: datetime | None = None
    updated_by: Actor | None = None

    def inspectors(self) -> list[Inspector]:
        return [Inspector(e.inspector_id, e.name, frozenset(e.conflicts)) for e in self.items]


class RosterUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[RosterEntry] = Field(max_length=MAX_INSPECTORS)
    expected_version: int | None = Field(
        default=None, ge=0, description="refuse (409) unless this is the roster's version"
    )


def normalised(items: Sequence[RosterEntry]) -> list[RosterEntry]:
    """Entries with their conflicts trimmed, upper-cased, unique and sorted; raises
    ``ValueError`` for a repeated inspector id or too many conflicts in all."""
    ids = [e.inspector_id for e in items]
    if len(set(ids)) != len(ids):
        raise ValueError("执法人员编号重复")
    if sum(len(e.conflicts) for e in items) > MAX_CONFLICTS_TOTAL:
        raise ValueError(f"回避申报合计不得超过{MAX_CONFLICTS_TOTAL}条")
    return [
        e.model_copy(update={"conflicts": sorted({c.strip().upper() for c in e.conflicts})})
        for e in items
    ]


class Rosters:
    """The departments' rosters in Redis (one key each)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def read(self, department: str) -> Roster:
        """The department's roster (empty, version 0, until an admin sets it)."""
        try:
            doc = await self._redis.get(ROSTER_KEY.format(department=department))
        except RedisError as exc:
            raise StoreError(f"reading the inspector roster failed: {exc}") from exc
        return Roster.model_validate_json(doc) if doc else Roster(department=department)

    async def put(
        self,
        department: str,
        items: Sequence[RosterEntry],
        *,
        by: Actor,
        now: datetime,
        expected_version: int | None = None,
    ) -> Roster | None:
        """Replace the department's roster; ``None`` when ``expected_version`` is stale."""
        current = await self.read(department)
        roster = Roster(
            department=department,
            version=current.version + 1,
            items=normalised(items),
            updated_at=now,
            updated_by=by,
        )
        expected = current.version if expected_version is None else expected_version
        try:
            version = await self._redis.eval(
                _PUT_LUA,
                1,
                ROSTER_KEY.format(department=department),
                expected,
                roster.model_dump_json(),
            )
        except RedisError as exc:
            raise StoreError(f"writing the inspector roster failed: {exc}") from exc
        return roster if int(version) >= 0 else None
