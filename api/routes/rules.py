"""``/api/v1/rules``: the rules with their thresholds and versions (any admin), and a live
change of one rule's thresholds. A rule applies to every department, so only the
platform's (``qianhai-authority``) admins change one; each value must pass the rule's params model
(:mod:`rules.params`), and the audit log records the rule's thresholds before and after. A
change is stored as the deployment's override
(:mod:`rules.live`) and the workers pick it up within seconds, without a restart."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status

from api.audit import AuditAction, AuditDep, Purpose
from api.deps import Admin, LiveRulesDep, OversightAdmin
from api.schemas import RulePublic, RulesPublic, RuleUpdate, errors
from core.errors import ConfigError
from rules.config import DEFAULT_PARAMS, RulesConfig
from rules.live import Overrides, VersionConflict, effective
from rules.registry import RULE_CLASSES
from streams.rule_catalog import RULE_IDS

router = APIRouter(prefix="/api/v1/rules", tags=["rules"])

RuleId = Annotated[
    str,
    Path(max_length=64, description="a rule id of alerts.md", examples=["tax_arrears"]),
]


def _public(rule_id: str, config: RulesConfig, overrides: Overrides) -> RulePublic:
    cls = next(c for c in RULE_CLASSES if c.rule_id == rule_id)
    return RulePublic(
        rule_id=rule_id,
        version=cls.version,
        severity=str(cls.severity),
        enabled=config.enabled(rule_id),
        thresholds=config.params(rule_id).as_json(),
        defaults=DEFAULT_PARAMS[rule_id].as_json(),
        overridden=sorted(overrides.rules.get(rule_id, {})),
        config_version=overrides.version,
    )


@router.get("", response_model=RulesPublic, responses=errors(401, 403))
async def list_rules(account: Admin, live: LiveRulesDep) -> RulesPublic:
    """Every rule: its code version, severity, whether it runs and its thresholds in force."""
    config, overrides = await live.config()
    return RulesPublic(
        config_version=overrides.version,
        rules_version=config.version,
        updated_at=overrides.updated_at,
        updated_by=overrides.updated_by,
        items=[_public(rule_id, config, overrides) for rule_id in RULE_IDS],
    )


@router.put("/{rule_id}", response_model=RulePublic, responses=errors(401, 403, 404, 409, 422))
async def update_rule(
    account: OversightAdmin,
    rule_id: RuleId,
    body: RuleUpdate,
    live: LiveRulesDep,
    audit: AuditDep,
    purpose: Purpose,
) -> RulePublic:
    """Replace the rule's override: ``thresholds`` (keys left out keep the base) and
    ``enabled``. Checked as strictly as the rules file; in force within seconds."""
    if rule_id not in RULE_IDS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"没有规则{rule_id[:64]}")
    table = dict(body.thresholds)
    if body.enabled is not None:
        table["enabled"] = body.enabled
    try:
        overrides = await live.put(
            rule_id,
            table,
            by=f"{account.name}（{account.department}）",
            now=datetime.now(UTC),
            expected_version=body.expected_version,
        )
    except ConfigError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"规则配置无效：{exc}") from None
    except VersionConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    config, now = await live.config()
    await audit.append(
        account,
        AuditAction.RULE_UPDATE,
        rule_id,
        purpose=purpose,
        detail={
            "override": overrides.rules.get(rule_id, {}),
            "version": overrides.version,
            "before": _state(rule_id, effective(live.base, Overrides(rules=overrides.previous))),
            "after": _state(rule_id, config),
        },
    )
    return _public(rule_id, config, now)


def _state(rule_id: str, config: RulesConfig) -> dict[str, Any]:
    """What the rule runs with: its thresholds in force and whether it is enabled."""
    return {"enabled": config.enabled(rule_id), "thresholds": config.params(rule_id).as_json()}
