"""What riskwire knows about one enterprise and one person, as stored in Redis.

Profiles hold keyed people (:class:`PersonRef`) only. Every list that a rule counts in a
window keeps the business ``time`` of each fact, so windows are computed by event time and
an event that arrives late still counts.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

STATE_VERSION = "v2"  # bump when a change would misread stored profiles (v2: seen zset)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=False)


class PersonRef(_Model):
    """A person as an enterprise's profile holds one: keyed, masked, never raw."""

    key: str
    masked: str
    name: str
    birth_date: date
    role: str | None = None


class ShareholderRef(_Model):
    holder_type: Literal["person", "enterprise"]
    name: str
    stake_pct: float
    person: PersonRef | None = None
    uscc: str | None = None


class Listing(_Model):
    """An abnormal-operations listing."""

    reason_code: str
    authority: str = ""
    since: datetime


class DebtorCase(_Model):
    case_no: str
    court: str = ""
    amount: float | None = None
    listed_at: datetime
    event_id: str
    source: str


class CaseRecord(_Model):
    case_no: str
    case_type: str
    role: str
    amount: float | None = None
    filed_at: datetime
    closed_at: datetime | None = None


class Touch(_Model):
    """One dated fact in a window: a failed contact, a department's attention, a change."""

    time: datetime
    kind: str
    department: str = ""
    event_id: str = ""


class Tax(_Model):
    arrears_outstanding: float = 0.0
    arrears_since: date | None = None
    arrears_event_id: str | None = None
    arrears_source: str | None = None
    arrears_time: datetime | None = None
    credit_rating: str | None = None
    credit_year: int | None = None
    credit_event_id: str | None = None
    credit_source: str | None = None
    credit_time: datetime | None = None
    paid_by_period: dict[str, float] = Field(default_factory=dict)
    penalties_total: float = 0.0
    penalties_count: int = 0
    insured_employees: int | None = None
    insured_period: str | None = None


class EnterpriseProfile(_Model):
    uscc: str
    name: str | None = None
    registered_on: date | None = None
    capital_registered: float | None = None
    capital_paid: float | None = None
    industry_code: str | None = None
    business_scope: str | None = None
    address_registered: str | None = None
    address_norm: str | None = None
    address_business: str | None = None
    phone: str | None = None
    phone_norm: str | None = None
    status: Literal["active", "deregistered"] = "active"
    deregistered_at: datetime | None = None
    deregistered_reason: str | None = None
    legal_rep: PersonRef | None = None
    officers: list[PersonRef] = Field(default_factory=list)
    shareholders: list[ShareholderRef] = Field(default_factory=list)
    abnormal: Listing | None = None
    debtor_cases: dict[str, DebtorCase] = Field(default_factory=dict)
    cases: dict[str, CaseRecord] = Field(default_factory=dict)
    tax: Tax = Field(default_factory=Tax)
    shareholder_changes: list[Touch] = Field(default_factory=list)
    contact_failures: list[Touch] = Field(default_factory=list)
    attention: list[Touch] = Field(default_factory=list)
    event_counts: dict[str, int] = Field(default_factory=dict)
    # Business time of the latest fact applied to each registration field, so that an
    # older change arriving late does not overwrite a newer one.
    field_times: dict[str, datetime] = Field(default_factory=dict)
    first_event_time: datetime | None = None
    last_event_time: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"

    def people(self) -> list[PersonRef]:
        """The legal representative and the officers, each person once."""
        rep, officers = self.legal_rep, self.officers
        if not officers:  # asked several times per event: the common cases build no dict
            return [rep] if rep is not None else []
        if rep is None and len(officers) == 1:
            return [officers[0]]
        seen: dict[str, PersonRef] = {} if rep is None else {rep.key: rep}
        for ref in officers:
            seen.setdefault(ref.key, ref)
        return list(seen.values())

    def roles_of(self, person_key: str) -> list[str]:
        roles = ["legal_rep"] if self.legal_rep and self.legal_rep.key == person_key else []
        roles += [o.role or "officer" for o in self.officers if o.key == person_key]
        return roles


class PersonCase(_Model):
    case_no: str
    case_type: str
    time: datetime
    event_id: str
    source: str


class PersonProfile(_Model):
    key: str
    masked: str | None = None
    name: str | None = None
    birth_date: date | None = None
    debtor_cases: dict[str, DebtorCase] = Field(default_factory=dict)
    criminal_cases: dict[str, PersonCase] = Field(default_factory=dict)
    event_counts: dict[str, int] = Field(default_factory=dict)
    last_event_time: datetime | None = None

    @property
    def dishonest(self) -> bool:
        return bool(self.debtor_cases)
