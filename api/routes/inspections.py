"""``/api/v1/inspections``: "double random, one public" draws (:mod:`api.draw`), recorded
in Redis and readable by the drawing department as the document to publish::

    rw:inspections:draw:v1:<id>   string  the draw (JSON), with its candidate set
    rw:inspections:draws:v1       zset    draw id -> created (epoch ms)

Nothing that decides the outcome comes from the caller: the seed is drawn from a CSPRNG,
the candidates are the enterprises with a current grade (a ``SCAN`` of the grade keys;
of the ``grades`` asked for), less those found deregistered when drawn (listed in
``excluded``), and the inspectors are the department's roster (:mod:`api.inspectors`).
The record states every input, and ``GET …/draws/{id}/verify`` (or ``riskwire draws
verify`` on the published record) re-runs it from them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, cast

import orjson
from fastapi import APIRouter, HTTPException, Path, Query, status
from redis.asyncio import Redis
from ulid import ULID

from api.accounts import Account
from api.audit import AuditAction, AuditDep, AuditLog, Purpose
from api.deps import Analyst, CurrentAccount, RedisDep
from api.draw import DEFAULT_QUOTAS, METHOD_ZH, DrawResult, Letter, draw, inspectors_hash
from api.draw import candidates_hash as hash_of
from api.draw_check import check
from api.inspectors import read_roster
from api.rate_limit import QueryClass, rate_limited
from api.schemas import (
    AllocationPublic,
    DrawCheckPublic,
    DrawnPublic,
    DrawPublic,
    DrawRequest,
    ExcludedPublic,
    InspectorIn,
    InspectorPublic,
    errors,
)
from core.redis_reply import text_of
from processors.profiles import codec
from processors.profiles.redis import doc_key
from streams.profile_store import EntityRef

router = APIRouter(prefix="/api/v1/inspections", tags=["inspections"])

DRAW_KEY = "rw:inspections:draw:v1:{draw_id}"
DRAWS_KEY = "rw:inspections:draws:v1"
GRADE_PATTERN = "rw:{ent:*}:grade:v1"
MAX_ROUNDS = 50
LETTERS: frozenset[str] = frozenset("ABCD")
NOT_FOUND = "抽查记录不存在或不属于本部门"


async def graded_candidates(redis: Redis) -> dict[str, Letter]:
    """Every enterprise with a current grade: uscc -> letter (one SCAN, pipelined reads)."""
    out: dict[str, Letter] = {}
    batch: list[str] = []

    async def flush() -> None:
        async with redis.pipeline(transaction=False) as pipe:
            for key in batch:
                pipe.hget(key, "grade")
            letters: list[Any] = await pipe.execute()
        for key, letter in zip(batch, letters, strict=True):
            text = text_of(letter) if letter else ""
            if text in LETTERS:
                out[key[len("rw:{ent:") : -len("}:grade:v1")]] = cast(Letter, text)
        batch.clear()

    async for key in redis.scan_iter(match=GRADE_PATTERN, count=1000):
        batch.append(text_of(key))
        if len(batch) >= 1000:
            await flush()
    if batch:
        await flush()
    return out


async def _inactive(redis: Redis, usccs: Iterable[str]) -> dict[str, str]:
    """Those of ``usccs`` not to inspect, with the reason: deregistered, or no profile."""
    wanted = sorted(usccs)
    async with redis.pipeline(transaction=False) as pipe:
        for uscc in wanted:
            pipe.hget(doc_key(EntityRef("ent", uscc)), "doc")
        docs: list[Any] = await pipe.execute()
    out: dict[str, str] = {}
    for uscc, doc in zip(wanted, docs, strict=True):
        if not doc:
            out[uscc] = "无企业档案"
        elif orjson.loads(codec.decode(doc)).get("status") == "deregistered":
            out[uscc] = "企业已注销"
    return out


async def _draw_graded(
    redis: Redis, run: Callable[[Mapping[str, Letter]], DrawResult], grades: frozenset[str]
) -> tuple[DrawResult, dict[str, Letter], dict[str, str]]:
    """Draw over the graded enterprises of ``grades``, re-drawing without those found
    deregistered until every drawn one is live: the result, the final candidate set, the
    excluded."""
    pool = {u: g for u, g in (await graded_candidates(redis)).items() if g in grades}
    excluded: dict[str, str] = {}
    checked: set[str] = set()
    for _round in range(MAX_ROUNDS):
        result = run(pool)
        todo = {d.uscc for d in result.items} - checked
        if not todo:
            return result, pool, excluded
        checked |= todo
        dropped = await _inactive(redis, todo)
        excluded.update(dropped)
        pool = {u: g for u, g in pool.items() if u not in dropped}
    raise HTTPException(status.HTTP_409_CONFLICT, "候选企业中已注销企业过多，请稍后重试")


def _outcome(
    result: DrawResult, quotas: Mapping[Letter, float], excluded: Mapping[str, str]
) -> dict[str, Any]:
    """The published allocation, exclusions and drawn items of a draw."""
    return {
        "allocation": [
            AllocationPublic(
                grade=g, population=result.populations[g], quota_pct=quotas[g], drawn=count
            )
            for g, count in result.allocation.items()
        ],
        "excluded": [ExcludedPublic(uscc=u, reason=r) for u, r in sorted(excluded.items())],
        "items": [
            DrawnPublic(
                uscc=d.uscc,
                grade=d.grade,
                inspectors=[
                    InspectorPublic(inspector_id=i.inspector_id, name=i.name) for i in d.inspectors
                ],
                shortfall=d.shortfall,
            )
            for d in result.items
        ],
    }


async def _save(
    redis: Redis, public: DrawPublic, department: str, pool: Mapping[str, Letter]
) -> None:
    """Record the draw with its department and its whole candidate set."""
    record = public.model_dump(mode="json") | {
        "department": department,
        "candidates": [{"uscc": u, "grade": g} for u, g in sorted(pool.items())],
    }
    # Two hash slots of a cluster, so two writes, the record first: a crash in between
    # leaves a record no listing shows (the caller got an error), never a listed draw
    # without its record.
    await redis.set(DRAW_KEY.format(draw_id=public.draw_id), orjson.dumps(record))
    await redis.zadd(DRAWS_KEY, {public.draw_id: int(public.created_at.timestamp() * 1000)})


@router.post(
    "/draw",
    response_model=DrawPublic,
    status_code=201,
    responses=errors(401, 403, 409, 422, 429),
    dependencies=[rate_limited(QueryClass.DRAWS)],
)
async def create_draw(
    account: Analyst, body: DrawRequest, redis: RedisDep, audit: AuditDep, purpose: Purpose
) -> DrawPublic:
    """Draw ``n`` enterprises, grade-stratified by the quotas, each paired with inspectors of
    the department's roster (never one with a declared conflict); seed from a CSPRNG, inputs
    from riskwire's records, all stated in the record so that anyone can re-run it."""
    roster = await read_roster(redis, account.department)
    inspectors = roster.inspectors()
    if not inspectors:
        raise HTTPException(status.HTTP_409_CONFLICT, "本部门尚未登记执法人员名录，请管理员先登记")
    seed = secrets.token_hex(32)
    quotas: dict[Letter, float] = {**DEFAULT_QUOTAS, **(body.quotas or {})}
    grades = frozenset(body.grades or LETTERS)

    def run(pool: Mapping[str, Letter]) -> DrawResult:
        return draw(
            pool,
            seed=seed,
            inspectors=inspectors,
            per_enterprise=body.per_enterprise,
            quotas=quotas,
            n=body.n,
        )

    result, pool, excluded = await _draw_graded(redis, run, grades)
    now = datetime.now(UTC)
    public = DrawPublic(
        draw_id=str(ULID.from_datetime(now)),
        title=body.title,
        created_at=now,
        created_by=account.actor(),
        seed=seed,
        n=body.n,
        quotas=quotas,
        grades=sorted(set(body.grades)) if body.grades else None,
        per_enterprise=body.per_enterprise,
        inspectors=[InspectorIn.model_validate(e.model_dump()) for e in roster.items],
        roster_version=roster.version,
        inspectors_hash=inspectors_hash(inspectors),
        method=METHOD_ZH,
        candidates_count=len(pool),
        candidates_hash=hash_of(pool),
        **_outcome(result, quotas, excluded),
    )
    await _save(redis, public, account.department, pool)
    await _audit_draw(audit, account, public, body.purpose or purpose)
    return public


async def _audit_draw(
    audit: AuditLog, account: Account, public: DrawPublic, purpose: str | None
) -> None:
    """The draw's audit entry: what anyone needs to re-run it, and how many it drew."""
    await audit.append(
        account,
        AuditAction.INSPECTION_DRAW,
        public.draw_id,
        purpose=purpose,
        detail={
            "seed": public.seed,
            "candidates_hash": public.candidates_hash,
            "inspectors_hash": public.inspectors_hash,
            "roster_version": public.roster_version,
            "drawn": len(public.items),
        },
    )


async def _visible_record(redis: Redis, account: Account, draw_id: str) -> dict[str, Any]:
    """The stored record of a draw of a department the caller sees, else 404."""
    raw = await redis.get(DRAW_KEY.format(draw_id=draw_id))
    record = orjson.loads(raw) if raw is not None else {}
    if raw is None or not account.sees([record.get("department", "")]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    return dict(record)


@router.get("/draws/{draw_id}", response_model=DrawPublic, responses=errors(401, 404, 422))
async def get_draw(
    account: CurrentAccount,
    redis: RedisDep,
    draw_id: Annotated[str, Path(min_length=1, max_length=64)],
    candidates: Annotated[bool, Query(description="include the candidate set")] = False,
) -> DrawPublic:
    """A recorded draw, as published: what was drawn, how, and how to check it."""
    record = await _visible_record(redis, account, draw_id)
    if not candidates:
        record.pop("candidates", None)
    return DrawPublic.model_validate(record)


@router.get(
    "/draws/{draw_id}/verify", response_model=DrawCheckPublic, responses=errors(401, 404, 422)
)
async def verify_draw(
    account: CurrentAccount,
    redis: RedisDep,
    draw_id: Annotated[str, Path(min_length=1, max_length=64)],
) -> DrawCheckPublic:
    """Re-run a recorded draw from the inputs its record states (seed, candidate set,
    inspector pool, quotas) and list every difference; ``ok`` when there is none."""
    record = await _visible_record(redis, account, draw_id)
    problems = check(record)
    return DrawCheckPublic(draw_id=draw_id, ok=not problems, problems=problems)
