"""``/api/v1/inspections``: "double random, one public" draws (:mod:`api.draw`), recorded
(:mod:`api.draw_store`) and readable by the drawing department as the document to publish.

Nothing that decides the outcome comes from the caller: the seed is drawn from a CSPRNG,
the candidates are the enterprises with a current grade (:meth:`GradeStore.letters
<processors.grades.GradeStore.letters>`; of the ``grades`` asked for), less those found
deregistered or without a profile when drawn (listed in
``excluded``), and the inspectors are the department's roster (:mod:`api.inspectors`).
The record states every input, and ``GET …/draws/{id}/verify`` (or ``riskwire draws
verify`` on the published record) re-runs it from them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, cast

import orjson
from fastapi import APIRouter, HTTPException, Path, Query, status
from ulid import ULID

from api.accounts import Account
from api.audit import AuditAction, AuditDep, AuditLog, Purpose
from api.deps import Analyst, CurrentAccount, DrawsDep, GradesDep, ProfilesDep, RostersDep
from api.draw import DEFAULT_QUOTAS, METHOD_ZH, DrawResult, Letter, draw, inspectors_hash
from api.draw import candidates_hash as hash_of
from api.draw_check import check
from api.draw_store import DrawStore
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
from processors.grades import GradeStore
from processors.profiles.redis import RedisProfileStore
from streams.profile_store import EntityRef

router = APIRouter(prefix="/api/v1/inspections", tags=["inspections"])

MAX_ROUNDS = 50
LETTERS: frozenset[str] = frozenset("ABCD")
NOT_FOUND = "抽查记录不存在或不属于本部门"


async def graded_candidates(grades: GradeStore) -> dict[str, Letter]:
    """Every enterprise with a current grade: uscc -> letter."""
    return {u: cast(Letter, g) for u, g in (await grades.letters()).items() if g in LETTERS}


async def _inactive(profiles: RedisProfileStore, usccs: Iterable[str]) -> dict[str, str]:
    """Those of ``usccs`` not to inspect, with the reason: deregistered, or no profile."""
    wanted = sorted(usccs)
    docs = {
        ref.id: doc
        for ref, doc in (await profiles.docs([EntityRef("ent", u) for u in wanted])).items()
    }
    out: dict[str, str] = {}
    for uscc in wanted:
        if uscc not in docs:
            out[uscc] = "无企业档案"
        elif orjson.loads(docs[uscc]).get("status") == "deregistered":
            out[uscc] = "企业已注销"
    return out


async def _draw_graded(
    graded: GradeStore,
    profiles: RedisProfileStore,
    run: Callable[[Mapping[str, Letter]], DrawResult],
    grades: frozenset[str],
) -> tuple[DrawResult, dict[str, Letter], dict[str, str]]:
    """Draw over the graded enterprises of ``grades`` (of the grade and profile stores),
    re-drawing without those found deregistered until every drawn one is live: the result,
    the final candidate set, the excluded."""
    pool = {u: g for u, g in (await graded_candidates(graded)).items() if g in grades}
    excluded: dict[str, str] = {}
    checked: set[str] = set()
    for _round in range(MAX_ROUNDS):
        result = run(pool)
        todo = {d.uscc for d in result.items} - checked
        if not todo:
            return result, pool, excluded
        checked |= todo
        dropped = await _inactive(profiles, todo)
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


@router.post(
    "/draw",
    response_model=DrawPublic,
    status_code=201,
    responses=errors(401, 403, 409, 422, 429),
    dependencies=[rate_limited(QueryClass.DRAWS)],
)
async def create_draw(
    account: Analyst,
    body: DrawRequest,
    rosters: RostersDep,
    draws: DrawsDep,
    grade_store: GradesDep,
    profiles: ProfilesDep,
    audit: AuditDep,
    purpose: Purpose,
) -> DrawPublic:
    """Draw ``n`` enterprises, grade-stratified by the quotas, each paired with inspectors of
    the department's roster (never one with a declared conflict); seed from a CSPRNG, inputs
    from riskwire's records, all stated in the record so that anyone can re-run it."""
    roster = await rosters.read(account.department)
    inspectors = roster.inspectors()
    if not inspectors:
        raise HTTPException(status.HTTP_409_CONFLICT, "本部门尚未登记执法人员名录，请管理员先登记")
    seed = secrets.token_hex(32)
    quotas: dict[Letter, float] = {**DEFAULT_QUOTAS, **(body.quotas or {})}
    grades = frozenset(body.grades or LETTERS)

    run = partial(
        draw,
        seed=seed,
        inspectors=inspectors,
        per_enterprise=body.per_enterprise,
        quotas=quotas,
        n=body.n,
    )
    result, pool, excluded = await _draw_graded(grade_store, profiles, run, grades)
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
    await draws.save(public, account.department, pool)
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


async def _visible_record(draws: DrawStore, account: Account, draw_id: str) -> dict[str, Any]:
    """The stored record of a draw of a department the caller sees, else 404."""
    record = await draws.get(draw_id)
    if record is None or not account.sees([record.get("department", "")]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    return record


@router.get("/draws/{draw_id}", response_model=DrawPublic, responses=errors(401, 404, 422))
async def get_draw(
    account: CurrentAccount,
    draws: DrawsDep,
    draw_id: Annotated[str, Path(min_length=1, max_length=64)],
    candidates: Annotated[bool, Query(description="include the candidate set")] = False,
) -> DrawPublic:
    """A recorded draw, as published: what was drawn, how, and how to check it."""
    record = await _visible_record(draws, account, draw_id)
    if not candidates:
        record.pop("candidates", None)
    return DrawPublic.model_validate(record)


@router.get(
    "/draws/{draw_id}/verify", response_model=DrawCheckPublic, responses=errors(401, 404, 422)
)
async def verify_draw(
    account: CurrentAccount,
    draws: DrawsDep,
    draw_id: Annotated[str, Path(min_length=1, max_length=64)],
) -> DrawCheckPublic:
    """Re-run a recorded draw from the inputs its record states (seed, candidate set,
    inspector pool, quotas) and list every difference; ``ok`` when there is none."""
    record = await _visible_record(draws, account, draw_id)
    problems = check(record)
    return DrawCheckPublic(draw_id=draw_id, ok=not problems, problems=problems)
