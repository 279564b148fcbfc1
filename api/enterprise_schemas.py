"""The API's enterprise views: an enterprise's profile, grade and flags, batch lookups,
related enterprises and the investigator's expansion (split from :mod:`api.schemas`)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import AlertPublic, Letter

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
