"""Public request and response models of the HTTP API, named by role (``AlertPublic``,
``AlertsPublic``, ``AlertUpdate``), and the error responses every route documents.

People appear only as :class:`PersonPublic`: a keyed hash and a masked id_number (first 4
and last 4 characters), never a raw one (riskwire never stores one to begin with).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
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


# -- enterprises ------------------------------------------------------------------------


class PersonPublic(BaseModel):
    key: str = Field(description="the person's keyed hash (a person alert's subject id)")
    name: str
    id_number_masked: str = Field(description="first 4 and last 4 characters only")
    role: str | None = None
    age: int | None = Field(default=None, description="whole years today")


class ShareholderPublic(BaseModel):
    holder_type: Literal["person", "enterprise"]
    name: str
    stake_pct: float
    person: PersonPublic | None = None
    uscc: str | None = None


class FactorPublic(BaseModel):
    code: str
    dimension: str
    points: float
    text_zh: str


class GradePublic(BaseModel):
    grade: Letter
    score: float
    at: datetime
    factors: list[FactorPublic] = Field(description="largest contribution first")
    rules_version: str | None = Field(
        default=None,
        max_length=64,
        description="the rules (thresholds and grade weights) the grade was computed under; "
        "null for grades stored before rules were versioned",
    )


class GradeHistoryItem(BaseModel):
    grade: Letter
    score: float
    at: datetime
    rules_version: str | None = Field(default=None, max_length=64)


class Flag(StrEnum):
    DEREGISTERED = "deregistered"
    ABNORMAL_LISTED = "abnormal_listed"
    ENTERPRISE_DISHONEST = "enterprise_dishonest"
    TAX_ARREARS = "tax_arrears"
    TAX_CREDIT_D = "tax_credit_d"
    LEGAL_REP_DISHONEST = "legal_rep_dishonest"
    OFFICER_DISHONEST = "officer_dishonest"
    PERSON_CRIMINAL_CASE = "person_criminal_case"


class FlagPublic(BaseModel):
    code: Flag
    text_zh: str


class ListingPublic(BaseModel):
    reason_code: str
    authority: str
    since: datetime


class TaxPublic(BaseModel):
    arrears_outstanding: float
    arrears_since: date | None
    credit_rating: str | None
    credit_year: int | None
    penalties_total: float
    penalties_count: int
    insured_employees: int | None


class EnterprisePublic(BaseModel):
    uscc: str
    name: str | None
    status: Literal["active", "deregistered"]
    registered_on: date | None
    deregistered_at: datetime | None
    deregistered_reason: str | None
    capital_registered: float | None
    capital_paid: float | None
    industry_code: str | None
    business_scope: str | None
    address_registered: str | None
    address_business: str | None
    phone: str | None
    legal_rep: PersonPublic | None
    officers: list[PersonPublic]
    shareholders: list[ShareholderPublic]
    abnormal_listing: ListingPublic | None
    tax: TaxPublic
    cases_open: int
    grade: GradePublic | None
    grade_history: list[GradeHistoryItem] = Field(description="distinct grades, newest first")
    flags: list[FlagPublic]
    open_alerts: list[AlertPublic] = Field(description="routed to the caller's department")
    last_event_time: datetime | None


class BatchQuery(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"usccs": ["91350100M000100Y43", "not-a-code"]}]}
    )

    usccs: list[str] = Field(min_length=1, max_length=10_000)
    purpose: str | None = Field(default=None, max_length=500)


class RowStatus(StrEnum):
    OK = "ok"
    UNKNOWN = "unknown"
    INVALID = "invalid"


class BatchRow(BaseModel):
    uscc: str
    status: RowStatus
    reason: str | None = None
    name: str | None = None
    grade: Letter | None = None
    score: float | None = None
    flags: list[Flag] = Field(default_factory=list)
    open_alerts: int = 0


class BatchPublic(BaseModel):
    rows: list[BatchRow] = Field(description="one per requested code, in request order")
    counts: dict[RowStatus, int]


class LinkPublic(BaseModel):
    kind: Literal["address", "phone", "legal_rep", "officer", "shareholder"]
    value: str = Field(description="normalised address or phone, person key, or uscc")
    via: str = Field(description="the seed (or, at hop 2, the first-hop enterprise) tied to")
    label_zh: str
    weight: float


class CandidatePublic(BaseModel):
    uscc: str
    name: str
    score: float
    hops: int
    links: list[LinkPublic]


class RelatedPublic(BaseModel):
    uscc: str
    items: list[CandidatePublic]


class ExpandQuery(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"seeds": ["91350100M000100Y43"], "hops": 2}]}
    )

    seeds: list[str] = Field(min_length=1, max_length=1000)
    hops: Literal[1, 2] = 1
    limit: int = Field(default=200, ge=1, le=1000)
    purpose: str | None = Field(default=None, max_length=500)


class ExpandPublic(BaseModel):
    seeds_unknown: list[str] = Field(description="seeds riskwire has no profile of")
    items: list[CandidatePublic]


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
