"""``POST /api/v1/investigations/expand``: from a sample of known bad enterprises, the
others tied to them by addresses, phones, people or shareholdings, ranked, each with the
links that tie it (collision analysis, :mod:`rules.investigation`)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from api.audit import AuditAction, AuditDep, Purpose
from api.deps import Analyst, ProfilesDep
from api.enterprise_schemas import ExpandPublic, ExpandQuery
from api.enterprise_view import uscc_problem
from api.rate_limit import QueryClass, rate_limited
from api.routes.enterprises import candidate_public
from api.schemas import errors
from rules.investigation import expand
from streams.profile_store import EntityRef

router = APIRouter(prefix="/api/v1/investigations", tags=["investigations"])


@router.post(
    "/expand",
    response_model=ExpandPublic,
    responses=errors(401, 403, 422, 429),
    dependencies=[rate_limited(QueryClass.EXPAND)],
)
async def expand_sample(
    account: Analyst, body: ExpandQuery, profiles: ProfilesDep, audit: AuditDep, purpose: Purpose
) -> ExpandPublic:
    """Up to 1,000 seeds, one or two hops; seeds riskwire has no profile of are listed."""
    seeds = list(dict.fromkeys(s.strip().upper() for s in body.seeds))
    bad = {s: p for s in seeds if (p := uscc_problem(s)) is not None}
    if bad:
        listed = "；".join(f"{s[:32]}：{p}" for s, p in list(bad.items())[:20])
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"种子代码无效：{listed}")
    await audit.append(
        account,
        AuditAction.INVESTIGATION_EXPAND,
        f"{len(seeds)} seeds, {body.hops} hops",
        purpose=body.purpose or purpose,
        detail={"seeds": seeds, "hops": body.hops},
    )
    known = await profiles.docs([EntityRef("ent", s) for s in seeds])
    found = {ref.id for ref in known}
    candidates = await expand(profiles, seeds, hops=body.hops, limit=body.limit)
    return ExpandPublic(
        seeds_unknown=[s for s in seeds if s not in found],
        items=[candidate_public(c) for c in candidates],
    )
