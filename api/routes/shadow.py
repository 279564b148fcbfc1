"""``/api/v1/rules/shadow``: a candidate rules version the workers run beside the live one
without telling anyone (:mod:`rules.shadow`). Only the platform's (``qianhai-authority``)
admins load, read, drop or promote one; each step is audited. The candidate is a whole
rules file, TOML (``application/toml`` or ``text/plain``) or the same document as JSON,
checked exactly as the file is, its size bounded (``RISKWIRE_SHADOW_MAX_BODY_BYTES``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from api.audit import AuditAction, AuditDep, Purpose
from api.deps import LiveRulesDep, OversightAdmin, ShadowRulesDep
from api.schemas import errors
from api.shadow_schemas import (
    DepartmentDiffPublic,
    GradeExamplePublic,
    GradeSidePublic,
    GradeTransitionPublic,
    PromoteRequest,
    PromotionPublic,
    RuleDiffPublic,
    ShadowDiffPublic,
    ShadowExample,
    ShadowGradesPublic,
    ShadowPublic,
)
from core.errors import ConfigError
from rules.grading.table import grading_table
from rules.shadow import NoShadow, Shadow, ShadowConflict
from rules.shadow_grades import GradeDiff
from rules.shadow_store import candidate_config, counts_by_department
from streams.grade import LETTERS
from streams.rule_catalog import RULE_IDS

router = APIRouter(prefix="/api/v1/rules/shadow", tags=["rules"])

TOML_TYPES = ("application/toml", "text/plain")
EXAMPLE_TOML = "[rules.tax_arrears]\nmin_arrears_cny = 50000\n"
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/toml": {"schema": {"type": "string"}, "example": EXAMPLE_TOML},
            "text/plain": {"schema": {"type": "string"}, "example": EXAMPLE_TOML},
            "application/json": {
                "schema": {"type": "object", "properties": {"rules": {"type": "object"}}},
                "example": {"rules": {"tax_arrears": {"min_arrears_cny": 50000}}},
            },
        },
    }
}


def _public(shadow: Shadow) -> ShadowPublic:
    config = candidate_config(shadow)
    return ShadowPublic(
        version=shadow.version,
        generation=shadow.generation,
        loaded_at=shadow.loaded_at,
        loaded_by=shadow.loaded_by,
        rules={k: dict(v) for k, v in shadow.rules.items()},
        thresholds={r: config.params(r).as_json() for r in RULE_IDS},
        disabled=sorted(config.disabled),
        grading=grading_table(config.grading),
    )


def _by(account: Any) -> str:
    return f"{account.name}（{account.department}）"


@router.get("", response_model=ShadowPublic, responses=errors(401, 403, 404))
async def read_shadow(account: OversightAdmin, shadow: ShadowRulesDep) -> ShadowPublic:
    """The candidate in shadow, with what each rule runs with under it."""
    current = await shadow.read()
    if current is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "没有影子规则")
    return _public(current)


@router.put(
    "",
    response_model=ShadowPublic,
    responses=errors(401, 403, 413, 415, 422),
    openapi_extra=_BODY,
)
async def load_shadow(
    request: Request,
    account: OversightAdmin,
    shadow: ShadowRulesDep,
    audit: AuditDep,
    purpose: Purpose,
) -> ShadowPublic:
    """Load a candidate rules file in shadow (replacing the one there, and its diff). The
    workers run it beside the live rules within seconds; it never raises an alert."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in (*TOML_TYPES, "application/json"):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "候选规则须为 TOML（application/toml）或 JSON（application/json）",
        )
    try:
        text = (await request.body()).decode("utf-8")
        loaded = await shadow.load(
            text, as_json=kind == "application/json", by=_by(account), now=datetime.now(UTC)
        )
    except UnicodeDecodeError:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "候选规则不是 UTF-8 文本"
        ) from None
    except ConfigError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"候选规则无效：{exc}") from None
    await audit.append(
        account,
        AuditAction.RULE_SHADOW_LOAD,
        loaded.version,
        purpose=purpose,
        detail={"generation": loaded.generation, "rules": dict(loaded.rules)},
    )
    return _public(loaded)


@router.delete("", status_code=204, responses=errors(401, 403, 404))
async def drop_shadow(
    account: OversightAdmin, shadow: ShadowRulesDep, audit: AuditDep, purpose: Purpose
) -> Response:
    """Drop the candidate and its diff."""
    try:
        dropped = await shadow.drop()
    except NoShadow as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    await audit.append(
        account,
        AuditAction.RULE_SHADOW_DROP,
        dropped.version,
        purpose=purpose,
        detail={"generation": dropped.generation},
    )
    return Response(status_code=204)


@router.get("/diff", response_model=ShadowDiffPublic, responses=errors(401, 403, 422))
async def shadow_diff(
    account: OversightAdmin,
    shadow: ShadowRulesDep,
    live: LiveRulesDep,
    kind: Annotated[Literal["added", "dropped"], Query(description="which examples")] = "added",
    rule_id: Annotated[str | None, Query(max_length=64, description="one rule only")] = None,
    department: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9-]+$")] = None,
    cursor: Annotated[str | None, Query(max_length=300, description="next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    grade_cursor: Annotated[
        str | None, Query(max_length=18, pattern=r"^[0-9A-Z]+$", description="grades.next_cursor")
    ] = None,
    grade_limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ShadowDiffPublic:
    """The live/shadow difference since the candidate was loaded: per rule and department
    the alerts the candidate would add and would drop, and a page of examples."""
    if rule_id is not None and rule_id not in RULE_IDS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"没有规则{rule_id}")
    page = await shadow.diff(
        kind=kind, rule_id=rule_id, department=department, cursor=cursor, limit=limit
    )
    grades = await shadow.grade_diff(cursor=grade_cursor, limit=grade_limit)
    live_config, overrides = await live.config()
    by_dept = counts_by_department(page.rules)
    return ShadowDiffPublic(
        loaded=page.shadow is not None,
        version=page.shadow.version if page.shadow else None,
        generation=page.shadow.generation if page.shadow else None,
        loaded_at=page.shadow.loaded_at if page.shadow else None,
        config_version=overrides.version,
        live_version=live_config.version,
        tracked=page.tracked,
        untracked=page.untracked,
        rules=[_rule(r) for r in page.rules],
        departments=[
            DepartmentDiffPublic(department=d, added=a, dropped=b)
            for d, (a, b) in sorted(by_dept.items())
            if department is None or d == department
        ],
        kind=kind,
        examples=[ShadowExample.model_validate(e) for e in page.examples],
        next_cursor=page.next_cursor,
        grades=_grades(grades),
    )


def _grades(diff: GradeDiff) -> ShadowGradesPublic:
    matrix: dict[str, dict[str, int]] = {
        a: {b: diff.transitions.get((a, b), 0) for b in LETTERS} for a in LETTERS
    }
    return ShadowGradesPublic(
        tracked=diff.tracked,
        untracked=diff.untracked,
        changed=diff.changed,
        transitions=[
            GradeTransitionPublic(live=a, shadow=b, enterprises=n)
            for (a, b), n in sorted(diff.transitions.items())
        ],
        matrix=matrix,
        examples=[
            GradeExamplePublic(
                uscc=p.uscc,
                live=GradeSidePublic(grade=p.live, score=p.live_score),
                shadow=GradeSidePublic(grade=p.shadow, score=p.shadow_score),
                at=datetime.fromtimestamp(p.at_ms / 1000, tz=UTC).isoformat(),
            )
            for p in diff.examples
        ],
        next_cursor=diff.next_cursor,
    )


def _rule(r: Any) -> RuleDiffPublic:
    return RuleDiffPublic(
        rule_id=r.rule_id, departments=r.departments, added=r.added, dropped=r.dropped
    )


@router.post("/promote", response_model=PromotionPublic, responses=errors(401, 403, 404, 409, 422))
async def promote_shadow(
    account: OversightAdmin,
    body: PromoteRequest,
    shadow: ShadowRulesDep,
    audit: AuditDep,
    purpose: Purpose,
) -> PromotionPublic:
    """Make the candidate the live rules, in one step: the live overrides are set so that
    every rule runs as the candidate says, and the shadow is cleared, together; every
    worker picks the new rules up within seconds, each event under one version or the
    other."""
    try:
        done = await shadow.promote(
            by=_by(account), now=datetime.now(UTC), expected_generation=body.generation
        )
    except NoShadow as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except ShadowConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except ConfigError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"候选规则无效：{exc}") from None
    await audit.append(
        account,
        AuditAction.RULE_SHADOW_PROMOTE,
        done.shadow.version,
        purpose=purpose,
        detail={
            "generation": done.shadow.generation,
            "config_version": done.live.version,
            "before": {k: dict(v) for k, v in done.previous.rules.items()},
            "after": {k: dict(v) for k, v in done.live.rules.items()},
        },
    )
    return PromotionPublic(
        version=done.shadow.version,
        config_version=done.live.version,
        overrides={k: dict(v) for k, v in done.live.rules.items()},
    )
