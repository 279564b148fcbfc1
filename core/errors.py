"""The one error hierarchy of riskwire.

::

    RiskwireError
    ├── ConfigError             settings or a rules file that cannot be loaded
    ├── InvalidEvent            an input message that cannot be accepted (goes to the DLQ)
    ├── StoreError              Redis failed or answered something unexpected
    ├── PublishError            Kafka did not take a message (``refused``: for good)
    ├── AuthError               a missing or wrong credential (HTTP 401)
    │   └── Forbidden           a right credential without the right (HTTP 403)
    ├── DeliveryError           a notifier could not deliver (``retryable`` says whether to retry)
    ├── EgressRefused           a webhook destination riskwire does not connect to (its class)
    ├── QuotaExceeded           a department is at one of its configured caps (HTTP 409)
    └── QueryError              Prometheus refused or failed a query (``riskwire report``)

Every error a caller is expected to handle derives from :class:`RiskwireError`, so a
worker loop can tell "ours, handled" from "a bug" with one ``except`` clause.
"""

from __future__ import annotations

import enum


class RiskwireError(Exception):
    """Base of every error riskwire raises on purpose."""


class ConfigError(RiskwireError):
    """Settings or a rules file that cannot be loaded."""


class DlqReason(enum.StrEnum):
    """Why an input message was dead-lettered (a bounded metric label)."""

    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    TOO_LARGE = "too_large"
    BAD_ENVELOPE = "bad_envelope"
    UNKNOWN_TYPE = "unknown_type"
    WRONG_TOPIC = "wrong_topic"
    BAD_FIELD = "bad_field"
    BAD_USCC = "bad_uscc"
    BAD_ID_NUMBER = "bad_id_number"
    BAD_DATE = "bad_date"
    BAD_SUBJECT = "bad_subject"
    # Not in its profile's dedup set and not later than its source's horizon mark: it may
    # have been applied more than the replay horizon ago, so it is never applied again.
    BEYOND_HORIZON = "beyond_horizon"
    # An output message (an alert, a grade) the broker or producer refused for good.
    BROKER_REFUSED = "broker_refused"


class InvalidEvent(RiskwireError):
    """An input message that cannot be accepted; ``reason`` is the metric label,
    ``detail`` the sentence a person reads in the DLQ. Neither ever holds a raw id_number."""

    def __init__(self, reason: DlqReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


class StoreError(RiskwireError):
    """Redis failed or answered something unexpected."""


class PublishError(RiskwireError):
    """Kafka did not take a message. ``refused`` is the reason when the broker or the
    producer refused it for good (too large, invalid): sending it again cannot help, so
    it is dead-lettered; ``None`` when it may succeed later (the broker is away)."""

    def __init__(self, message: str, *, refused: DlqReason | None = None) -> None:
        super().__init__(message)
        self.refused = refused


class AuthError(RiskwireError):
    """A missing or wrong credential (HTTP 401)."""


class Forbidden(AuthError):
    """A valid credential without the right to do this (HTTP 403)."""


class DeliveryError(RiskwireError):
    """A notifier could not deliver; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class EgressRefused(RiskwireError):
    """A webhook destination that riskwire does not connect to; ``kind`` is the class of
    its address (``loopback``, ``private``, ``link_local``, ``metadata`` …), never the
    address itself, so the delivery log cannot be used to map a network."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"webhook destination refused: {kind} address")
        self.kind = kind


class QuotaExceeded(RiskwireError):
    """A department is at one of its configured caps (HTTP 409); the message names the
    setting that raises it."""


class QueryError(RiskwireError):
    """Prometheus could not be reached, or refused or failed a query."""


class BacktestError(RiskwireError):
    """A backtest that cannot run: a bad candidate, no events in the period, an input that
    cannot be read (``riskwire backtest`` exits with status 2 or 1)."""
