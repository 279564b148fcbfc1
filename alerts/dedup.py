"""One open alert per fingerprint: turning a hit into a new alert, or into an update of
the open one, or into nothing when it brings nothing new (a replayed event)."""

from __future__ import annotations

import enum
from datetime import datetime

from ulid import ULID

from alerts.size import ALERT_LIMITS
from rules.base import Clear, Hit
from streams.alert import (
    Alert,
    AlertAction,
    AlertStatus,
    AlertSubject,
    TimelineEntry,
    fingerprint,
    with_entry,
)
from streams.rule_catalog import RESCORING_RULES, departments_for

MAX_EVIDENCE = 200
# An officer's hold on an alert that new evidence lifts (the alert needs a look again).
REOPENED_BY_EVIDENCE = frozenset({AlertStatus.ACKNOWLEDGED, AlertStatus.ASSIGNED})


class Change(enum.StrEnum):
    """Why an alert is (re)published."""

    CREATED = "created"
    NEW_EVIDENCE = "new_evidence"
    STATUS = "status"


def verdict_fingerprint(verdict: Hit | Clear) -> str:
    return fingerprint(verdict.rule_id, verdict.subject_kind, verdict.subject_id)


def new_alert(hit: Hit, *, event_time: datetime, now: datetime) -> Alert:
    return Alert(
        alert_id=str(ULID.from_datetime(now)),
        fingerprint=verdict_fingerprint(hit),
        rule_id=hit.rule_id,
        rule_version=hit.rule_version,
        severity=hit.severity,
        subject=AlertSubject(kind=hit.subject_kind, id=hit.subject_id),  # type: ignore[arg-type]
        enterprises=list(hit.enterprises),
        enterprises_total=hit.enterprises_total,
        title=hit.title,
        explanation=hit.explanation,
        evidence=list(hit.evidence)[:MAX_EVIDENCE],
        departments=departments_for(hit.rule_id),
        event_time=event_time,
        created_at=now,
        updated_at=now,
    )


def merge(open_alert: Alert, hit: Hit, *, event_time: datetime, now: datetime) -> Alert | None:
    """The open alert updated by a later hit, or ``None`` when the hit adds no evidence
    and changes no member (so a replay publishes nothing).

    A hub's hit (one with ``enterprises_total``: an address cluster, a person's companies)
    names the hub's members as they are now, so the alert carries those, not every member
    any hit ever named: a member that left is dropped, whatever order the facts came in.
    A ``refresh`` hit (the hub re-judged after its members changed) sets the members only.

    An acknowledged or assigned alert is reopened when, and only when, the hit brings
    evidence events it did not have: a replay, a rescore (:data:`RESCORING_RULES`), a
    refresh or an enterprise that joins without a new event leave the officer's status alone.
    """
    known = {ev.event_id for ev in open_alert.evidence}
    fresh = [] if hit.refresh else [ev for ev in hit.evidence if ev.event_id not in known]
    members, total = _members(open_alert, hit)
    if not fresh and members == open_alert.enterprises and total == open_alert.enterprises_total:
        return None
    status: dict[str, object] = {}
    if (
        fresh
        and open_alert.status in REOPENED_BY_EVIDENCE
        and open_alert.rule_id not in RESCORING_RULES
    ):
        note = f"新证据{len(fresh)}条到达，告警重新打开"
        entry = TimelineEntry(at=now, action=AlertAction.REOPEN, status=AlertStatus.OPEN, note=note)
        status = {
            "status": AlertStatus.OPEN,
            "status_reason": note,
            "timeline": with_entry(open_alert.timeline, entry),
        }
    texts: dict[str, object] = {}
    if not hit.refresh:
        texts = {
            "title": hit.title,
            "explanation": hit.explanation,
            "rule_version": hit.rule_version,
            "hits": open_alert.hits + 1,
        }
    return open_alert.model_copy(
        update={
            **status,
            **texts,
            "evidence": (open_alert.evidence + fresh)[-MAX_EVIDENCE:],
            "enterprises": members,
            "enterprises_total": total,
            "event_time": max(open_alert.event_time, event_time),
            "updated_at": now,
            "revision": open_alert.revision + 1,
        }
    )


def _members(open_alert: Alert, hit: Hit) -> tuple[list[str], int | None]:
    """The members and count after ``hit``: a hub's current members, or the open alert's
    with the enterprises the hit adds (a folded list changes only when the count grows:
    a replay is no news)."""
    if hit.enterprises_total is not None:
        return list(hit.enterprises)[: ALERT_LIMITS.enterprises], hit.enterprises_total
    known = set(open_alert.enterprises)
    joined = [] if _folded(open_alert) else [u for u in hit.enterprises if u not in known]
    return open_alert.enterprises + joined, open_alert.enterprises_total


def _folded(alert: Alert) -> bool:
    """Whether the alert's enterprise list was cut to its bound (``alerts.size``)."""
    return len(alert.enterprises) >= ALERT_LIMITS.enterprises


def resolve(alert: Alert, reason: str, *, now: datetime) -> Alert:
    """The alert resolved because what it rested on has ended (``reason``, zh-CN)."""
    entry = TimelineEntry(
        at=now, action=AlertAction.CLOSE, status=AlertStatus.RESOLVED, note=reason
    )
    return alert.model_copy(
        update={
            "status": AlertStatus.RESOLVED,
            "status_reason": reason,
            "timeline": with_entry(alert.timeline, entry),
            "updated_at": now,
            "revision": alert.revision + 1,
        }
    )
