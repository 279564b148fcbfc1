"""The alert: one JSON shape on ``riskwire.alerts``, over WebSocket, in webhooks and in the API
(``alerts.md``). Fields after ``status`` are riskwire's extensions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"

    @property
    def is_open(self) -> bool:
        return self not in (AlertStatus.RESOLVED, AlertStatus.DISMISSED)


class AlertSubject(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["enterprise", "person", "address"]
    id: str


class Evidence(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str
    source: str
    type: str
    time: datetime
    fact: str


class AlertAction(StrEnum):
    """What was done to an alert, by an officer or (``REOPEN``, ``CLOSE``) by riskwire."""

    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"
    RESOLVE = "resolve"
    DISMISS = "dismiss"
    REOPEN = "reopen"  # new evidence on an acknowledged or assigned alert
    CLOSE = "close"  # what it rested on has ended (a cleared fact, a deregistration)


class Actor(BaseModel):
    """Who acted on an alert: an account, never a token."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    name: str
    department: str


class TimelineEntry(BaseModel):
    """One status change of an alert: who (``None``: riskwire itself), when, why."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    action: AlertAction
    status: AlertStatus = Field(description="the status after this change")
    by: Actor | None = None
    note: str = ""
    assignee: Actor | None = None


class Alert(BaseModel):
    alert_id: str
    fingerprint: str
    rule_id: str
    rule_version: int
    severity: Severity
    subject: AlertSubject
    enterprises: list[str]
    grade: str | None = None
    score: float | None = None
    title: str
    explanation: str
    evidence: list[Evidence]
    departments: list[str]
    event_time: datetime
    created_at: datetime
    status: AlertStatus = AlertStatus.OPEN
    # Extensions: how many times the rule hit while this alert was open, when it last
    # changed, and its revision (a consumer keeps the highest per alert_id).
    hits: int = 1
    updated_at: datetime
    revision: int = 1
    status_reason: str | None = None
    enterprises_total: int | None = Field(
        default=None, description="for hub alerts listing a capped number of enterprises"
    )
    assignee: Actor | None = Field(default=None, description="who the alert is assigned to")
    timeline: list[TimelineEntry] = Field(
        default_factory=list, description="every status change, oldest first (the last 100)"
    )


MAX_TIMELINE = 100


def with_entry(timeline: list[TimelineEntry], entry: TimelineEntry) -> list[TimelineEntry]:
    """``timeline`` with ``entry`` appended, keeping the last :data:`MAX_TIMELINE`."""
    return [*timeline, entry][-MAX_TIMELINE:]


def fingerprint(rule_id: str, kind: str, subject_id: str) -> str:
    """``rule_id:kind:id``, the identity of an open alert.

    >>> fingerprint("tax_arrears", "enterprise", "91440300MA5DA1B2XK")
    'tax_arrears:enterprise:91440300MA5DA1B2XK'
    """
    return f"{rule_id}:{kind}:{subject_id}"
