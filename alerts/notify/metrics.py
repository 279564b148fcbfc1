"""Notification metrics. Labels are bounded: the notifier (``webhook``), the delivery state,
the :class:`~alerts.notify.base.Reason`, an inbound result. Never a URL, an endpoint id,
a department or an alert id."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from alerts.notify.base import DeliveryState, Reason

NOTIFICATIONS_ENQUEUED = Counter(
    "riskwire_notifications_enqueued_total",
    "Deliveries queued (one per alert change and endpoint), by notifier.",
    ["notifier"],
)
NOTIFICATION_ATTEMPTS = Counter(
    "riskwire_notification_attempts_total",
    "Delivery attempts, by notifier, the state the delivery went to, and the failure reason.",
    ["notifier", "state", "reason"],
)
NOTIFICATION_SECONDS = Histogram(
    "riskwire_notification_attempt_seconds",
    "Duration of one delivery attempt, by notifier.",
    ["notifier"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
NOTIFICATION_LAG_SECONDS = Histogram(
    "riskwire_notification_delivered_lag_seconds",
    "From queueing to successful delivery, by notifier (retries included).",
    ["notifier"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600, 3600, 86400),
)
INBOUND_FEEDBACK = Counter(
    "riskwire_inbound_feedback_total",
    "Signed feedback messages from receivers, by result.",
    ["result"],
)


def zero_series(notifier: str) -> None:
    """Export the outcomes an operator alerts on at 0 before the first one happens, so a
    rate over them is 0 rather than no data."""
    NOTIFICATIONS_ENQUEUED.labels(notifier)
    NOTIFICATION_ATTEMPTS.labels(notifier, DeliveryState.DELIVERED.value, "")
    for reason in Reason:
        for state in (DeliveryState.RETRYING, DeliveryState.FAILED, DeliveryState.DEAD_LETTERED):
            NOTIFICATION_ATTEMPTS.labels(notifier, state.value, reason.value)
