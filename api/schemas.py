"""Public request and response models of the HTTP API, named by role (``AlertPublic``,
``AlertsPublic``, ``AlertUpdate``), and the error responses every route documents.

People appear only as :class:`~api.enterprise_schemas.PersonPublic` (the enterprise views
live there): a keyed hash and a masked id_number (first 4 and last 4 characters), never a
raw one (riskwire never stores one to begin with).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from alerts.notify.inbound import FeedbackEntry
from api.accounts import Role
from api.audit import AuditEntry
from streams.alert import Actor, Alert

Letter = Literal["A", "B", "C", "D"]
Note = Annotated[str, Field(max_length=2000)]

ALERT_EXAMPLE: dict[str, Any] = {
    "alert_id": "01JZ8Q4W7M3X9V2K5T6R8N0B1C",
    "fingerprint": "tax_arrears:enterprise:91440300MA5DA1B2XK",
    "rule_id": "tax_arrears",
    "rule_version": 2,
    "severity": "high",
    "subject": {"kind": "enterprise", "id": "91440300MA5DA1B2XK"},
    "enterprises": ["91440300MA5DA1B2XK"],
    "grade": "C",
    "score": 61.5,
    "title": "深圳前海某贸易有限公司：欠税或纳税信用D级",
    "explanation": "企业欠缴税款300,000元（自2026-01-05起），达到预警阈值100,000元。",
    "evidence": [
        {
            "event_id": "tax-0001",
            "source": "tax-bureau",
            "type": "tax.arrears",
            "time": "2026-01-05T09:00:00Z",
            "fact": "欠缴税款300,000元",
        }
    ],
    "departments": ["tax", "qianhai-authority"],
    "event_time": "2026-01-05T09:00:00Z",
    "created_at": "2026-01-05T09:00:01Z",
    "status": "acknowledged",
    "hits": 1,
    "updated_at": "2026-01-05T09:30:00Z",
    "revision": 2,
    "status_reason": "王值班（tax）确认：已电话联系企业",
    "assignee": None,
    "timeline": [
        {
            "at": "2026-01-05T09:30:00Z",
            "action": "acknowledge",
            "status": "acknowledged",
            "by": {"account_id": "01JZ8Q0000", "name": "王值班", "department": "tax"},
            "note": "已电话联系企业",
            "assignee": None,
        }
    ],
}


class ErrorPublic(BaseModel):
    detail: str | list[dict[str, Any]] = Field(description="why, in words a person can read")


_ERRORS: dict[int, str] = {
    401: "Missing, malformed, unknown or revoked bearer token",
    403: "A valid token whose role may not do this",
    404: "Not found, or not visible to the caller's department",
    409: "Not allowed in the current state (or the state changed meanwhile)",
    413: "The request body is larger than the route's limit (RISKWIRE_API_MAX_BODY_BYTES)",
    415: "The request body's Content-Type is not one the route reads",
    422: "The request is not valid (the detail says why)",
    429: "Too many queries of this kind with this token: retry after `Retry-After` seconds",
    503: "A backing service (Kafka, Redis) is not reachable",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: each error code with its model and meaning."""
    return {code: {"model": ErrorPublic, "description": _ERRORS[code]} for code in codes}


# -- alerts -----------------------------------------------------------------------------


class AlertPublic(Alert):
    """An alert (``alerts.md``), with its timeline of status changes."""

    model_config = ConfigDict(json_schema_extra={"examples": [ALERT_EXAMPLE]})


class AlertDetail(AlertPublic):
    """One alert with the feedback its receivers reported back (signed inbound webhooks)."""

    feedback: list[FeedbackEntry] = Field(
        default_factory=list, description="the enforcement bureau's reports, oldest first"
    )


class AlertsPublic(BaseModel):
    items: list[AlertPublic]
    next: str | None = Field(description="the cursor of the next page, or null")


class AlertUpdate(BaseModel):
    """An officer's action on an alert: acknowledge, resolve or dismiss, with a note."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "已核实"}]})

    note: Note = ""


class AlertAssign(AlertUpdate):
    """Assign an alert to an account of the caller's department."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"account_id": "01JZ8Q0000", "note": "请现场核查"}]},
    )

    account_id: str = Field(min_length=1, max_length=64)


# -- inspections ("double random, one public") ------------------------------------------


class InspectorIn(BaseModel):
    inspector_id: str = Field(min_length=1, max_length=64)
    name: str = Field(default="", max_length=100)
    conflicts: list[str] = Field(
        default_factory=list, max_length=10_000, description="usccs it may not inspect"
    )


class CandidateIn(BaseModel):
    uscc: str = Field(min_length=1, max_length=64)
    grade: Letter


class DrawRequest(BaseModel):
    """What a draw is over; never its seed, candidates or inspectors (the server takes
    those from a CSPRNG and its own records, and refuses them here)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"n": 50, "title": "2026年第一季度双随机抽查", "purpose": "季度计划"}]
        },
    )

    n: int | None = Field(
        default=None, ge=1, le=100_000, description="how many; default: every quota in full"
    )
    quotas: dict[Letter, Annotated[float, Field(ge=0, le=100)]] | None = Field(
        default=None, description="inspection rate per grade in %; default D 100, C 20, B 8, A 4"
    )
    grades: list[Letter] | None = Field(
        default=None,
        min_length=1,
        max_length=4,
        description="draw only among enterprises of these grades; default: every grade",
    )
    per_enterprise: int = Field(default=2, ge=1, le=5, description="inspectors per enterprise")
    title: str = Field(default="", max_length=200)
    purpose: str | None = Field(default=None, max_length=500)


class InspectorPublic(BaseModel):
    inspector_id: str
    name: str


class DrawnPublic(BaseModel):
    uscc: str
    grade: Letter
    inspectors: list[InspectorPublic]
    shortfall: bool = Field(description="fewer free inspectors than asked (conflicts)")


class AllocationPublic(BaseModel):
    grade: Letter
    population: int
    quota_pct: float
    drawn: int


class ExcludedPublic(BaseModel):
    uscc: str
    reason: str


class DrawPublic(BaseModel):
    draw_id: str
    title: str
    created_at: datetime
    created_by: Actor
    seed: str = Field(description="drawn by the server from a CSPRNG (256 bits, hex)")
    n: int | None
    quotas: dict[Letter, float]
    grades: list[Letter] | None = Field(default=None, description="the grades drawn among")
    per_enterprise: int
    inspectors: list[InspectorIn] = Field(description="the pool drawn from, with conflicts")
    roster_version: int = Field(default=0, description="the department's roster version used")
    inspectors_hash: str = Field(
        default="", description="SHA-256 of the sorted 'id:conflicts' lines of the pool"
    )
    method: str = Field(description="how to re-run the draw by hand (zh-CN)")
    candidates_count: int
    candidates_hash: str = Field(description="SHA-256 of the sorted 'uscc:grade' lines")
    allocation: list[AllocationPublic]
    excluded: list[ExcludedPublic] = Field(description="graded but deregistered: not drawn")
    items: list[DrawnPublic]
    candidates: list[CandidateIn] | None = Field(
        default=None, description="the candidate set, when asked for"
    )


class DrawCheckPublic(BaseModel):
    draw_id: str
    ok: bool = Field(description="the record re-runs to itself from the inputs it states")
    problems: list[str] = Field(description="each difference found (zh-CN)")


# -- enforcement uploads, rules, accounts, audit ---------------------------------------


class UploadAccepted(BaseModel):
    event_id: str
    source: str
    type: str
    subject: str
    topic: str
    partition: int
    offset: int


class RulePublic(BaseModel):
    rule_id: str
    version: int = Field(description="the rule's code version (alerts carry it)")
    severity: str
    enabled: bool
    thresholds: dict[str, Any] = Field(description="in force: defaults, file, overrides")
    defaults: dict[str, Any]
    overridden: list[str] = Field(description="keys the deployment's live overrides set")
    config_version: int = Field(description="the overrides' version this was read at")


class RulesPublic(BaseModel):
    config_version: int = Field(description="+1 on every change; workers poll it")
    rules_version: str = Field(
        default="",
        max_length=64,
        description="the rules version in force (r-…: thresholds, rules off, grade weights); "
        "grades carry it, and a shadow candidate's version is the same digest",
    )
    updated_at: str | None
    updated_by: str | None
    items: list[RulePublic]


class RuleUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"thresholds": {"min_arrears_cny": 50000}, "enabled": True}]
        },
    )

    thresholds: dict[str, Any] = Field(
        default_factory=dict, description="the rule's overrides; keys left out: the base"
    )
    enabled: bool | None = Field(default=None, description="null: as the base (file) says")
    expected_version: int | None = Field(
        default=None, ge=0, description="refuse (409) unless this is the current config_version"
    )


class AccountPublic(BaseModel):
    account_id: str
    name: str
    department: str
    role: Role
    revoked: bool
    created_at: datetime | None


class AccountsPublic(BaseModel):
    items: list[AccountPublic]


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    role: Role
    department: str | None = Field(
        default=None,
        max_length=64,
        description="default: the caller's; another only for qianhai-authority admins",
    )


class AccountCreated(AccountPublic):
    token: str = Field(description="the bearer token, shown this once")


class AuditPublic(BaseModel):
    items: list[AuditEntry] = Field(description="newest first")
    next: int | None = Field(description="pass as ``before`` for the next page")
