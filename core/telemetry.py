"""Metrics (Prometheus conventions, bounded labels) and structured logs.

Labels never carry a uscc, a person key or an alert id: only topics, event types, rule
ids, severities, reasons and operations, each a small fixed set.

When ``PROMETHEUS_MULTIPROC_DIR`` is set (``riskwire run`` sets it), every riskwire process
on the host writes its samples there and the API's ``/metrics`` serves them all together.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

EVENTS_CONSUMED = Counter(
    "riskwire_events_consumed_total", "Input events accepted, by topic and type.", ["topic", "type"]
)
EVENTS_DEAD_LETTERED = Counter(
    "riskwire_events_dead_lettered_total",
    "Input messages sent to the dead-letter topic, by topic and reason.",
    ["topic", "reason"],
)
EVENTS_DUPLICATE = Counter(
    "riskwire_events_duplicate_total",
    "Events already applied to a profile (redelivery or replay), by topic.",
    ["topic"],
)
PROFILE_CONFLICTS = Counter(
    "riskwire_profile_conflicts_total",
    "Profile writes retried because another writer changed the profile first.",
)
INDEX_REPAIRS = Counter(
    "riskwire_index_repairs_total",
    "Profiles whose index updates landed after a newer version's and were repaired.",
)
BATCH_SECONDS = Histogram(
    "riskwire_batch_processing_seconds",
    "Time to process one batch of input events, decode to alerts written.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
BATCH_SIZE = Histogram(
    "riskwire_batch_size_events",
    "Events per processed batch.",
    buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2000),
)
EVENT_TO_ALERT_SECONDS = Histogram(
    "riskwire_event_to_alert_seconds",
    "Latency from an event reaching Kafka to its alert being published.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10),
)
ALERTS_FIRED = Counter(
    "riskwire_alerts_fired_total",
    "Alerts created or updated, by rule, severity and change.",
    ["rule_id", "severity", "change"],
)
ALERTS_PUBLISHED = Counter(
    "riskwire_alerts_published_total", "Alert changes published to Kafka.", ["topic_kind"]
)
CONSUMER_LAG = Gauge(
    "riskwire_consumer_lag_messages",
    "Messages not yet consumed, by input topic (sum over this worker's partitions).",
    ["topic"],
    multiprocess_mode="livesum",
)
MODEL_LABELS = Counter(
    "riskwire_model_labels_total",
    "Inspection labels offered to the early-warning model, by outcome.",
    ["outcome"],
)
RULE_ERRORS = Counter(
    "riskwire_rule_errors_total", "Rule evaluations that raised, by rule.", ["rule_id"]
)
REDIS_ERRORS = Counter(
    "riskwire_redis_errors_total", "Redis calls that failed, by operation.", ["operation"]
)
OUTPUT_DEAD_LETTERED = Counter(
    "riskwire_output_dead_lettered_total",
    "Output messages the broker refused for good, dead-lettered instead, by relay and reason.",
    ["relay", "reason"],
)
PUBLISH_ERRORS = Counter(
    "riskwire_publish_errors_total",
    "Kafka publishes that failed and are retried, by publisher.",
    ["publisher"],
)
WORKER_TASK_ERRORS = Counter(
    "riskwire_worker_task_errors_total",
    "Worker tasks and timers that raised and were restarted, by task.",
    ["task"],
)
WS_CLIENTS = Gauge(
    "riskwire_websocket_clients", "Connected live-feed clients.", multiprocess_mode="livesum"
)
ALERTS_SWEPT = Counter(
    "riskwire_alerts_swept_total",
    "Closed alerts removed from Redis after the retention (kept on the archive topic).",
)
WS_DROPPED = Counter(
    "riskwire_websocket_dropped_total", "Live-feed clients dropped, by reason.", ["reason"]
)
TASK_RESTARTS = Counter(
    "riskwire_task_restarts_total",
    "Supervised background tasks restarted after a failure, by task.",
    ["task"],
)
API_REFUSED = Counter(
    "riskwire_api_refused_total",
    "API requests refused by a limit (body too large, rate limited), by reason.",
    ["reason"],
)


def _registry() -> CollectorRegistry:
    """This process's metrics, or every local process's in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def render_metrics() -> tuple[bytes, str]:
    """The exposition text for ``/metrics``."""
    return generate_latest(_registry()), CONTENT_TYPE_LATEST


def serve_metrics(host: str, port: int) -> bool:
    """Serve ``/metrics`` from a worker on its own port (0 = off); False if the port is taken."""
    if port <= 0:
        return False
    try:
        start_http_server(port, addr=host, registry=_registry())
    except OSError as exc:
        get_logger(__name__).warning("metrics port unavailable", port=port, error=str(exc))
        return False
    return True


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Structured logs on stderr: JSON lines in production, readable in a terminal."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(message)s")
    # Client libraries narrate every connection at INFO; keep their warnings only.
    for noisy in ("kafka", "aiokafka", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
