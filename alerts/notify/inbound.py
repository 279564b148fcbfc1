"""Feedback from a receiving bureau, written into the alert's timeline.

A bureau reports back on an alert it received (``received``, ``accepted``, ``rejected``,
or an ``outcome`` with a note) by POSTing to ``/api/v1/webhooks/inbound/<endpoint id>``,
signed exactly like our webhooks (Standard Webhooks, the endpoint's secret). The
signature is the authentication: no bearer token. A message older or newer than five
minutes is refused, and a ``webhook-id`` already recorded is acknowledged without being
recorded twice, so a captured request cannot be replayed::

    rw:alert-timeline:v1:<alert id>            list    FeedbackEntry JSON, oldest first
    rw:wh:inbound-seen:v1:<endpoint>:<msg id>  string  a recorded message id, for 10 min
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Final, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from alerts.notify.endpoints import Endpoint
from alerts.notify.metrics import INBOUND_FEEDBACK
from alerts.notify.webhook import verify
from core.clock import Clock
from core.errors import AuthError, RiskwireError, StoreError
from streams.alert import Alert

TIMELINE_KEY: Final = "rw:alert-timeline:v1:{alert_id}"
SEEN_KEY: Final = "rw:wh:inbound-seen:v1:{endpoint}:{msg_id}"
TIMELINE_MAX: Final = 1000
TOLERANCE_S: Final = 300
MAX_BODY_BYTES: Final = 64 * 1024


class FeedbackKind(enum.StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    OUTCOME = "outcome"


class InboundResult(enum.StrEnum):
    """What became of an inbound message (a bounded metric label)."""

    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    BAD_SIGNATURE = "bad_signature"
    BAD_BODY = "bad_body"
    UNKNOWN_ALERT = "unknown_alert"


class Feedback(BaseModel):
    """The body a bureau sends."""

    model_config = ConfigDict(extra="forbid")

    alert_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")
    kind: FeedbackKind
    outcome: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=4000)


class FeedbackEntry(BaseModel):
    """A receiver's feedback on an alert, as its timeline keeps it."""

    at: datetime
    kind: str  # "feedback.received", "feedback.accepted", "feedback.rejected", ...
    department: str
    actor: str  # who: "webhook:<endpoint id>"
    outcome: str | None = None
    note: str | None = None
    message_id: str | None = None


class InboundRejected(RiskwireError):
    """A correctly signed message that cannot be recorded (HTTP 422 or 404)."""

    def __init__(self, result: InboundResult, detail: str) -> None:
        super().__init__(detail)
        self.result = result


class AlertLookup(Protocol):
    async def get(self, alert_id: str) -> Alert | None: ...


async def record_feedback(
    redis: Redis,
    alerts: AlertLookup,
    clock: Clock,
    endpoint: Endpoint,
    headers: Mapping[str, str],
    body: bytes,
) -> tuple[InboundResult, FeedbackEntry | None]:
    """Verify and record one inbound message. Raises :class:`~core.errors.AuthError` for a
    bad or stale signature and :class:`InboundRejected` for a body that cannot be taken."""
    try:
        msg_id = verify(
            endpoint.secret.get_secret_value(),
            headers,
            body,
            now_s=clock.now().timestamp(),
            tolerance_s=TOLERANCE_S,
        )
    except ValueError as exc:
        INBOUND_FEEDBACK.labels(InboundResult.BAD_SIGNATURE).inc()
        raise AuthError(str(exc)) from None
    try:
        feedback = Feedback.model_validate_json(body)
    except ValidationError:
        INBOUND_FEEDBACK.labels(InboundResult.BAD_BODY).inc()
        raise InboundRejected(InboundResult.BAD_BODY, "the body is not a feedback") from None
    alert = await alerts.get(feedback.alert_id)
    if alert is None or endpoint.department not in alert.departments:
        INBOUND_FEEDBACK.labels(InboundResult.UNKNOWN_ALERT).inc()
        raise InboundRejected(InboundResult.UNKNOWN_ALERT, "no such alert for this department")
    entry = FeedbackEntry(
        at=clock.now(),
        kind=f"feedback.{feedback.kind.value}",
        department=endpoint.department,
        actor=f"webhook:{endpoint.id}",
        outcome=feedback.outcome,
        note=feedback.note,
        message_id=msg_id,
    )
    result = await _append_once(redis, endpoint.id, alert.alert_id, entry)
    INBOUND_FEEDBACK.labels(result).inc()
    return result, entry if result is InboundResult.RECORDED else None


async def _append_once(
    redis: Redis, endpoint_id: str, alert_id: str, entry: FeedbackEntry
) -> InboundResult:
    seen = SEEN_KEY.format(endpoint=endpoint_id, msg_id=entry.message_id)
    key = TIMELINE_KEY.format(alert_id=alert_id)
    try:
        if not await redis.set(seen, b"1", nx=True, ex=2 * TOLERANCE_S):
            return InboundResult.DUPLICATE
        try:
            async with redis.pipeline(transaction=True) as pipe:
                pipe.rpush(key, entry.model_dump_json())
                pipe.ltrim(key, -TIMELINE_MAX, -1)
                await pipe.execute()
        except RedisError:
            await redis.delete(seen)  # let the sender's retry record it
            raise
    except RedisError as exc:
        raise StoreError(f"recording feedback failed: {exc}") from exc
    return InboundResult.RECORDED


async def timeline(redis: Redis, alert_id: str) -> list[FeedbackEntry]:
    """The alert's timeline, oldest first."""
    try:
        docs = await redis.lrange(TIMELINE_KEY.format(alert_id=alert_id), 0, -1)
    except RedisError as exc:
        raise StoreError(f"reading a timeline failed: {exc}") from exc
    return [FeedbackEntry.model_validate_json(doc) for doc in docs]
