"""``/api/v1/inspections``: "double random, one public" draws (:mod:`api.draw`), recorded
in Redis and readable by the drawing department as the document to publish::

    rw:inspections:draw:v1:<id>   string  the draw (JSON), with its candidate set
    rw:inspections:draws:v1       zset    draw id -> created (epoch ms)

The candidates are the enterprises with a current grade (a ``SCAN`` of the grade keys),
less those found deregistered when drawn (listed in ``excluded``); a draw given
``candidates`` re-runs on exactly those, so an auditor gets the recorded list back.
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

from api.audit import AuditAction, AuditDep, Purpose
from api.deps import Analyst, CurrentAccount, RedisDep
from api.draw import DEFAULT_QUOTAS, METHOD_ZH, DrawResult, Inspector, Letter, draw
from api.draw import candidates_hash as hash_of
from api.enterprise_view import uscc_problem
from api.rate_limit import QueryClass, rate_limited
from api.schemas import (
    AllocationPublic,
    CandidateIn,
    DrawnPublic,
    DrawPublic,
    DrawRequest,
    ExcludedPublic,
    InspectorPublic,
    errors,
)
from processors.profiles.redis import doc_key
from processors.profiles.store import EntityRef

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
            text = _text(letter) if letter else ""
            if text in LETTERS:
                out[key[len("rw:{ent:") : -len("}:grade:v1")]] = cast(Letter, text)
        batch.clear()

    async for key in redis.scan_iter(match=GRADE_PATTERN, count=1000):
        batch.append(_text(key))
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
        elif orjson.loads(doc).get("status") == "deregistered":
            out[uscc] = "企业已注销"
    return out


async def _draw_graded(
    redis: Redis, run: Callable[[Mapping[str, Letter]], DrawResult]
) -> tuple[DrawResult, dict[str, Letter], dict[str, str]]:
    """Draw over the graded enterprises, re-drawing without those found deregistered
    until every drawn one is live: the result, the final candidate set, the excluded."""
    pool = await graded_candidates(redis)
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


def _given(candidates: list[CandidateIn]) -> dict[str, Letter]:
    pool: dict[str, Letter] = {}
    for c in candidates:
        problem = uscc_problem(c.uscc)
        if problem is not None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{c.uscc}：{problem}")
        if pool.setdefault(c.uscc, c.grade) != c.grade:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, f"{c.uscc}在候选集中出现两次且等级不同"
            )
    return pool


@router.post(
    "/draw",
    response_model=DrawPublic,
    status_code=201,
    responses=errors(401, 403, 422, 429),
    dependencies=[rate_limited(QueryClass.DRAWS)],
)
async def create_draw(
    account: Analyst, body: DrawRequest, redis: RedisDep, audit: AuditDep, purpose: Purpose
) -> DrawPublic:
    """Draw ``n`` enterprises, grade-stratified by the quotas, each paired with inspectors
    drawn from the list (never one with a declared conflict); recorded with its seed and
    the hash of its candidate set so that it can be re-run and checked."""
    ids = [i.inspector_id for i in body.inspectors]
    if len(set(ids)) != len(ids):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "执法人员编号重复")
    seed = body.seed or secrets.token_hex(16)
    quotas: dict[Letter, float] = {**DEFAULT_QUOTAS, **(body.quotas or {})}
    inspectors = [
        Inspector(i.inspector_id, i.name, frozenset(u.strip().upper() for u in i.conflicts))
        for i in body.inspectors
    ]

    def run(pool: Mapping[str, Letter]) -> DrawResult:
        return draw(
            pool,
            seed=seed,
            inspectors=inspectors,
            per_enterprise=body.per_enterprise,
            quotas=quotas,
            n=body.n,
        )

    excluded: dict[str, str] = {}
    if body.candidates is not None:
        pool = _given(body.candidates)
        result = run(pool)
    else:
        result, pool, excluded = await _draw_graded(redis, run)
    now = datetime.now(UTC)
    public = DrawPublic(
        draw_id=str(ULID.from_datetime(now)),
        title=body.title,
        created_at=now,
        created_by=account.actor(),
        seed=seed,
        n=body.n,
        quotas=quotas,
        per_enterprise=body.per_enterprise,
        inspectors=body.inspectors,
        method=METHOD_ZH,
        candidates_count=len(pool),
        candidates_hash=hash_of(pool),
        allocation=[
            AllocationPublic(
                grade=g, population=result.populations[g], quota_pct=quotas[g], drawn=count
            )
            for g, count in result.allocation.items()
        ],
        excluded=[ExcludedPublic(uscc=u, reason=r) for u, r in sorted(excluded.items())],
        items=[
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
    )
    record = public.model_dump(mode="json") | {
        "department": account.department,
        "candidates": [{"uscc": u, "grade": g} for u, g in sorted(pool.items())],
    }
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(DRAW_KEY.format(draw_id=public.draw_id), orjson.dumps(record))
        pipe.zadd(DRAWS_KEY, {public.draw_id: int(now.timestamp() * 1000)})
        await pipe.execute()
    await audit.append(
        account,
        AuditAction.INSPECTION_DRAW,
        public.draw_id,
        purpose=body.purpose or purpose,
        detail={
            "seed": seed,
            "candidates_hash": public.candidates_hash,
            "drawn": len(public.items),
        },
    )
    return public


@router.get("/draws/{draw_id}", response_model=DrawPublic, responses=errors(401, 404, 422))
async def get_draw(
    account: CurrentAccount,
    redis: RedisDep,
    draw_id: Annotated[str, Path(min_length=1, max_length=64)],
    candidates: Annotated[bool, Query(description="include the candidate set")] = False,
) -> DrawPublic:
    """A recorded draw, as published: what was drawn, how, and how to check it."""
    raw = await redis.get(DRAW_KEY.format(draw_id=draw_id))
    if raw is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    record = orjson.loads(raw)
    if not account.sees([record.get("department", "")]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    if not candidates:
        record.pop("candidates", None)
    return DrawPublic.model_validate(record)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
