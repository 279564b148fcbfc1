"""The notifier contract: one ``deliver()`` that answers an :class:`Outcome` saying whether
the delivery arrived, and if not, whether trying again may help and why (a :class:`Reason`).

Neither a delivery's ``repr`` nor an outcome ever holds the endpoint's secret or its URL
(a URL may carry a token in its query), so both are safe to log.

>>> outcome_for_status(204, latency_ms=12).kind
<OutcomeKind.DELIVERED: 'delivered'>
>>> outcome_for_status(503, latency_ms=12).reason
<Reason.SERVER_ERROR: 'server_error'>
>>> outcome_for_status(404, latency_ms=12).kind
<OutcomeKind.RETRYABLE: 'retryable'>
>>> outcome_for_status(410, latency_ms=12).kind
<OutcomeKind.PERMANENT: 'permanent'>
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import SecretStr


class OutcomeKind(enum.StrEnum):
    DELIVERED = "delivered"
    RETRYABLE = "retryable"  # try again later
    PERMANENT = "permanent"  # trying again will not help


class Reason(enum.StrEnum):
    """Why an attempt failed (a bounded metric label and the delivery log's ``reason``)."""

    TIMEOUT = "timeout"  # no full answer within the notifier's deadline
    CONNECTION = "connection"  # refused, reset, unreachable, DNS
    NETWORK = "network"  # any other transport failure
    REQUEST_TIMEOUT = "request_timeout"  # HTTP 408
    RATE_LIMITED = "rate_limited"  # HTTP 429
    SERVER_ERROR = "server_error"  # HTTP 5xx
    REJECTED = "rejected"  # another 4xx: retried, the receiver may be fixed within the window
    REDIRECTED = "redirected"  # 3xx: redirects are not followed, the answer is retried
    GONE = "gone"  # HTTP 410, or the endpoint was disabled by one: not retried
    BAD_CONFIG = "bad_config"  # the endpoint cannot be called as configured
    FORBIDDEN_ADDRESS = "forbidden_address"  # the egress policy refuses the address
    ENDPOINT_GONE = "endpoint_gone"  # the endpoint was deleted while the delivery waited
    INTERNAL = "internal"  # the notifier itself failed (a bug): retried


class DeliveryState(enum.StrEnum):
    """Where a delivery stands, as the delivery log shows it."""

    PENDING = "pending"
    DELIVERED = "delivered"
    RETRYING = "retrying"
    FAILED = "failed"  # a permanent failure (410, a bad URL or secret): not retried
    DEAD_LETTERED = "dead_lettered"  # retried for the whole retry window, never delivered


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: OutcomeKind
    reason: Reason | None = None
    status_code: int | None = None
    latency_ms: int = 0
    retry_after_s: float | None = None  # the receiver's Retry-After, when it sent one

    @property
    def delivered(self) -> bool:
        return self.kind is OutcomeKind.DELIVERED

    @property
    def retryable(self) -> bool:
        return self.kind is OutcomeKind.RETRYABLE

    def describe(self) -> str:
        """One line for a log or the delivery log: no secret, no URL, no response body."""
        parts = [self.kind.value]
        if self.reason is not None:
            parts.append(self.reason.value)
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One attempt to deliver one alert change to one endpoint."""

    id: str  # stable across retries: the receiver deduplicates on it (``webhook-id``)
    endpoint_id: str
    url: str = field(repr=False)
    secret: SecretStr = field(repr=False)
    body: bytes = field(repr=False)
    attempt: int = 1


class Notifier(Protocol):
    name: str  # the channel, a metric label: "webhook"

    async def deliver(self, delivery: Delivery) -> Outcome:
        """Send once; never raises for a failed delivery, never waits past its own deadline."""
        ...


GONE_STATUS = 410


def _reason_for(status: int) -> Reason:
    if status >= 500:
        return Reason.SERVER_ERROR
    named = {408: Reason.REQUEST_TIMEOUT, 429: Reason.RATE_LIMITED, GONE_STATUS: Reason.GONE}
    return named.get(status, Reason.REDIRECTED if status < 400 else Reason.REJECTED)


def outcome_for_status(
    status: int, *, latency_ms: int, retry_after_s: float | None = None
) -> Outcome:
    """The contract's retry mapping for an HTTP answer: 2xx delivered; 410 permanent (the
    receiver says the endpoint is gone: it is disabled); every other answer retryable for
    the whole retry window (``api.md``: at least 24 hours)."""
    if 200 <= status < 300:
        return Outcome(OutcomeKind.DELIVERED, status_code=status, latency_ms=latency_ms)
    reason = _reason_for(status)
    if status == GONE_STATUS:
        return Outcome(OutcomeKind.PERMANENT, reason, status, latency_ms)
    return Outcome(OutcomeKind.RETRYABLE, reason, status, latency_ms, retry_after_s)
