"""``/api/v1/enterprises``: one enterprise's profile, a batch query of up to 10,000 codes,
and the enterprises linked to one. Every query is written to the audit log.

Analysts and admins query; duty officers may read one profile and its links too (the
board's drill-down from an alert needs them), but not run batches.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status

from alerts.store import AlertStore
from api.accounts import Account
from api.audit import AuditAction, AuditDep, Purpose
from api.deps import AlertStoreDep, Analyst, CurrentAccount, GradesDep, ProfilesDep
from api.enterprise_schemas import (
    BatchPublic,
    BatchQuery,
    BatchRow,
    CandidatePublic,
    EnterprisePublic,
    LinkPublic,
    RelatedPublic,
    RowStatus,
)
from api.enterprise_view import alert_fingerprints, enterprise_public, flags_of, uscc_problem
from api.rate_limit import QueryClass, rate_limited
from api.schemas import errors
from processors.grades import GradeStore
from processors.profiles.redis import RedisProfileStore
from rules.grading import Grade
from rules.investigation import Candidate, related
from streams.profile import EnterpriseProfile, PersonProfile
from streams.profile_store import EntityRef

router = APIRouter(prefix="/api/v1/enterprises", tags=["enterprises"])

Uscc = Annotated[
    str,
    Path(
        max_length=64,
        description="the unified social credit code",
        examples=["91350100M000100Y43"],
    ),
]
NOT_FOUND = "未找到该企业的档案"


def _valid(uscc: str) -> str:
    problem = uscc_problem(uscc)
    if problem:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem)
    return uscc


def candidate_public(c: Candidate) -> CandidatePublic:
    return CandidatePublic(
        uscc=c.uscc,
        name=c.name,
        score=round(c.score, 4),
        hops=c.hops,
        links=[
            LinkPublic(kind=x.kind, value=x.value, via=x.via, label_zh=x.label_zh, weight=x.weight)
            for x in c.links
        ],
    )


@router.get("/{uscc}", response_model=EnterprisePublic, responses=errors(401, 404, 422))
async def get_enterprise(
    account: CurrentAccount,
    uscc: Uscc,
    purpose: Purpose,
    profiles: ProfilesDep,
    grades: GradesDep,
    alert_store: AlertStoreDep,
    audit: AuditDep,
) -> EnterprisePublic:
    """The current profile: registration facts, people (masked), grade, score and its
    factors, open alerts routed to the caller's department, flags, grade history."""
    _valid(uscc)
    await audit.append(account, AuditAction.ENTERPRISE_VIEW, uscc, purpose=purpose)
    docs = await profiles.docs([EntityRef("ent", uscc)])
    if not docs:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    ent = EnterpriseProfile.model_validate_json(next(iter(docs.values())))
    people_docs = await profiles.docs([EntityRef("per", p.key) for p in ent.people()])
    people = {ref.id: PersonProfile.model_validate_json(d) for ref, d in people_docs.items()}
    current = (await grades.current([uscc])).get(uscc)
    history = await grades.history(uscc, limit=50)
    found = await alert_store.open_alerts(alert_fingerprints(ent))
    alerts = sorted(
        (a for a in found.values() if account.sees(a.departments)),
        key=lambda a: a.alert_id,
        reverse=True,
    )
    return enterprise_public(
        ent, people, grade=current, history=history, alerts=alerts, today=datetime.now(UTC).date()
    )


@router.get("/{uscc}/grade", response_model=Grade, responses=errors(401, 404, 422))
async def grade_on(
    account: CurrentAccount,
    uscc: Uscc,
    purpose: Purpose,
    grades: GradesDep,
    audit: AuditDep,
    at: Annotated[
        datetime | None,
        Query(description="the date and time to answer for (RFC 3339); now when absent"),
    ] = None,
) -> Grade:
    """The grade the enterprise had at ``at``, with the factors and facts it rested on."""
    _valid(uscc)
    await audit.append(account, AuditAction.ENTERPRISE_GRADE, uscc, purpose=purpose)
    when = at if at is not None and at.tzinfo is not None else datetime.now(UTC)
    found = await grades.as_of(uscc, when)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "该企业在该时间尚无信用等级")
    return found


@router.post(
    "/batch",
    response_model=BatchPublic,
    responses=errors(401, 403, 422, 429),
    dependencies=[rate_limited(QueryClass.BATCH)],
)
async def batch(
    account: Analyst,
    body: BatchQuery,
    profiles: ProfilesDep,
    grades: GradesDep,
    alert_store: AlertStoreDep,
    audit: AuditDep,
    purpose: Purpose,
) -> BatchPublic:
    """One row per requested code, in order: grade, score, flags and the number of open
    alerts routed to the caller's department; an invalid or unknown code is answered in
    its row. Three steps of pipelined Redis reads, whatever the batch size."""
    codes = [raw.strip().upper() for raw in body.usccs]
    problems = {code: uscc_problem(code) for code in set(codes)}
    valid = sorted(code for code, problem in problems.items() if problem is None)
    await audit.append(
        account,
        AuditAction.ENTERPRISE_BATCH,
        f"{len(valid)} enterprises",
        purpose=body.purpose or purpose,
        detail={"usccs": valid},
    )
    facts = await _batch_facts(
        account, valid, profiles=profiles, grades=grades, alert_store=alert_store
    )
    rows: list[BatchRow] = []
    for raw, code in zip(body.usccs, codes, strict=True):
        problem = problems[code]
        if problem is not None:
            rows.append(BatchRow(uscc=raw, status=RowStatus.INVALID, reason=problem))
        elif code not in facts:
            rows.append(BatchRow(uscc=code, status=RowStatus.UNKNOWN, reason=NOT_FOUND))
        else:
            rows.append(facts[code])
    return BatchPublic(rows=rows, counts=dict(Counter(r.status for r in rows)))


async def _batch_facts(
    account: Account,
    usccs: Sequence[str],
    *,
    profiles: RedisProfileStore,
    grades: GradeStore,
    alert_store: AlertStore,
) -> dict[str, BatchRow]:
    """The facts of each known enterprise of ``usccs``, in three steps whatever their
    number: profiles and grades; open alerts and people; the alerts' departments."""
    ent_docs, current = await asyncio.gather(
        profiles.docs([EntityRef("ent", uscc) for uscc in usccs]), grades.current(usccs)
    )
    ents = {ref.id: EnterpriseProfile.model_validate_json(doc) for ref, doc in ent_docs.items()}
    keys = sorted({p.key for ent in ents.values() for p in ent.people()})
    opened, people_docs = await asyncio.gather(
        alert_store.open_ids([alert_fingerprints(ent) for ent in ents.values()]),
        profiles.docs([EntityRef("per", key) for key in keys]),
    )
    ids = dict(zip(ents, opened, strict=True))
    people = {ref.id: PersonProfile.model_validate_json(d) for ref, d in people_docs.items()}
    visible = await _visible(alert_store, account, {i for found in ids.values() for i in found})
    rows: dict[str, BatchRow] = {}
    for uscc, ent in ents.items():
        grade = current.get(uscc)
        rows[uscc] = BatchRow(
            uscc=uscc,
            status=RowStatus.OK,
            name=ent.name,
            grade=grade.grade if grade else None,
            score=grade.score if grade else None,
            flags=[f.code for f in flags_of(ent, people)],
            open_alerts=len(ids[uscc] & visible),
        )
    return rows


async def _visible(alert_store: AlertStore, account: Account, alert_ids: set[str]) -> set[str]:
    """The alerts among ``alert_ids`` routed to the caller's department."""
    if account.oversees_all or not alert_ids:
        return alert_ids
    routed = await alert_store.departments(alert_ids)
    return {alert_id for alert_id, departments in routed.items() if account.sees(departments)}


@router.get(
    "/{uscc}/related",
    response_model=RelatedPublic,
    responses=errors(401, 404, 422, 429),
    dependencies=[rate_limited(QueryClass.RELATED)],
)
async def related_enterprises(
    account: CurrentAccount,
    uscc: Uscc,
    purpose: Purpose,
    profiles: ProfilesDep,
    audit: AuditDep,
) -> RelatedPublic:
    """Enterprises linked by shared address, phone, legal representative, officer or
    shareholder, strongest first, each link with its kind."""
    _valid(uscc)
    await audit.append(account, AuditAction.ENTERPRISE_RELATED, uscc, purpose=purpose)
    if not await profiles.docs([EntityRef("ent", uscc)]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND)
    found = await related(profiles, uscc)
    return RelatedPublic(uscc=uscc, items=[candidate_public(c) for c in found])
