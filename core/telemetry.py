"""Metrics (Prometheus conventions, bounded labels) and structured logs.

Labels never carry a uscc, a person key or an alert id: only topics, event types, rule
ids, severities, reasons and operations, each a small fixed set.

Each scrape target serves its own samples, so Prometheus may scrape the API and every
worker without counting anything twice: a worker serves only its own process on
``RISKWIRE_WORKER_METRICS_PORT``, and the API's ``/metrics`` serves the API. When
``PROMETHEUS_MULTIPROC_DIR`` is set, ``/metrics`` serves every API process that shares that
directory (a pre-forking server); ``riskwire worker`` drops the variable before any metric
exists, so a worker never writes into the API's directory.

Gauges say how processes that share a directory combine (``multiprocess_mode``): a count
of this process's things sums over the live processes, a figure every process measures
the same way (a backlog in Redis) takes the largest.
"""

from __future__ import annotations

import logging
import logging.config
import os
import platform
import sys
from importlib import metadata
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
PROFILE_CACHE_LOOKUPS = Counter(
    "riskwire_profile_cache_lookups_total",
    "Profiles a worker read, by use (apply, judge, repair) and result: hit when the stored "
    "bytes were those of its cached parse, miss when they were parsed.",
    ["use", "result"],
)
INDEX_REPAIRS = Counter(
    "riskwire_index_repairs_total",
    "Profiles whose index updates landed after a newer version's and were repaired.",
)
REEVALUATIONS = Counter(
    "riskwire_reevaluations_total",
    "Enterprises re-evaluated because another enterprise changed a fact they share.",
    ["hub"],
)
STALE_VERDICTS = Counter(
    "riskwire_stale_verdicts_total",
    "Enterprises judged again because another worker committed their profile meanwhile.",
)
FANOUT_OVERFLOW = Counter(
    "riskwire_fanout_overflow_total",
    "Members of a changed hub left out of re-evaluation because the hub is over the cap.",
    ["hub"],
)
BATCH_SECONDS = Histogram(
    "riskwire_batch_processing_seconds",
    "Time to process one batch of input events, decode to alerts written.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
BATCH_ROUND_TRIPS = Histogram(
    "riskwire_batch_redis_round_trips",
    "Sequential Redis round trips of one batch (round trips awaited together count once).",
    buckets=(1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30),
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
    "Messages not yet consumed, by input topic and partition (the partitions this worker holds).",
    ["topic", "partition"],
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
    "Supervised background tasks and timers restarted after a failure, by task.",
    ["task"],
)
API_REFUSED = Counter(
    "riskwire_api_refused_total",
    "API requests refused by a limit (body too large, rate limited), by reason.",
    ["reason"],
)
BATCH_STAGE_SECONDS = Histogram(
    "riskwire_batch_stage_seconds",
    "Time one batch spent in each stage (decode, apply, read, grade, score, rules, write).",
    ["stage"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
REDIS_COMMAND_SECONDS = Histogram(
    "riskwire_redis_command_seconds",
    "Wait for one Redis command or pipeline, by command, as the process sees it (its event "
    "loop's delays included; blocking reads left out).",
    ["command"],
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
RELAY_BACKLOG = Gauge(
    "riskwire_relay_backlog_entries",
    "Entries of a Redis feed not yet on Kafka (undelivered plus unacknowledged), by relay.",
    ["relay"],
    multiprocess_mode="max",
)
WEBHOOK_QUEUE_DEPTH = Gauge(
    "riskwire_webhook_queue_deliveries",
    "Webhook deliveries waiting (due, leased or retrying), by department.",
    ["department"],
    multiprocess_mode="max",
)
WEBHOOK_OLDEST_DUE = Gauge(
    "riskwire_webhook_oldest_due_seconds",
    "How long the longest-overdue waiting delivery has been due, by department (0: none).",
    ["department"],
    multiprocess_mode="max",
)
SOURCE_LAST_EVENT = Gauge(
    "riskwire_source_last_event_timestamp_seconds",
    "Kafka time of the newest accepted event, by input topic and source department.",
    ["topic", "source"],
    multiprocess_mode="max",
)
SOURCE_EVENTS = Counter(
    "riskwire_source_events_total",
    "Input events accepted, by input topic and source department.",
    ["topic", "source"],
)
SOURCE_EXPECTED_INTERVAL = Gauge(
    "riskwire_source_expected_interval_seconds",
    "Longest silence expected of a source department before it is reported silent.",
    ["source"],
    multiprocess_mode="max",
)
ALERTS_OPEN = Gauge(
    "riskwire_alerts_open",
    "Alerts open now (not yet resolved or closed), all departments.",
    multiprocess_mode="max",
)
GRADES_ASSIGNED = Counter(
    "riskwire_grades_assigned_total",
    "Enterprises regraded with a new grade, score or factors, by the letter they got.",
    ["grade"],
)
MODEL_AUC = Gauge(
    "riskwire_model_auc",
    "The early-warning model's prequential ROC AUC (NaN until it has learned labels).",
    multiprocess_mode="max",
)
MODEL_LEARNED = Gauge(
    "riskwire_model_labels_learned",
    "Inspection labels the shared early-warning model has learned.",
    multiprocess_mode="max",
)
BUILD_INFO = Gauge(
    "riskwire_build_info",
    "Always 1: the riskwire version and Python this process runs.",
    ["version", "python"],
    multiprocess_mode="max",
)
# Reasons and operations that exist before anything went wrong, exported at 0 so that a
# rate over them is 0 rather than no data.
REDIS_OPERATIONS = ("process", "model", "heartbeat", "relay", "grade_relay", "feed", "gauges")
WS_DROP_REASONS = ("slow",)
GRADE_LETTERS = ("A", "B", "C", "D")


def _version() -> str:
    try:
        return metadata.version("riskwire")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


def announce_build() -> None:
    """Set ``riskwire_build_info`` and the zero series of this process's counters."""
    BUILD_INFO.labels(_version(), platform.python_version()).set(1)
    for operation in REDIS_OPERATIONS:
        REDIS_ERRORS.labels(operation)
    for reason in WS_DROP_REASONS:
        WS_DROPPED.labels(reason)
    for letter in GRADE_LETTERS:
        GRADES_ASSIGNED.labels(letter)


def _registry() -> CollectorRegistry:
    """This process's metrics, or those of every process sharing its multiprocess
    directory (the API's processes: a worker never has one)."""
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


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _renderer(fmt: str) -> Any:
    if fmt == "json":
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())


def stdlib_logging_config(level: str = "INFO", fmt: str = "json") -> dict[str, Any]:
    """The ``logging.config.dictConfig`` that renders the libraries' records (faust, mode,
    aiokafka, uvicorn) as riskwire's own lines: the same renderer, level and timestamp
    keys, plus ``logger``. faust's worker takes it as its ``logging_config``."""
    quiet = logging.getLevelName(max(logging.WARNING, logging.getLevelName(level.upper())))
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "riskwire": {
                "()": structlog.stdlib.ProcessorFormatter,
                "foreign_pre_chain": [*_shared_processors(), structlog.stdlib.add_logger_name],
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    _renderer(fmt),
                ],
            }
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "riskwire",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        # Client libraries narrate every connection at INFO; keep their warnings only.
        "loggers": {name: {"level": quiet} for name in ("kafka", "aiokafka", "httpx", "httpcore")},
    }


class _NamedPrintLogger(structlog.PrintLogger):
    """A print logger that knows the module it logs for (``logger`` in each line)."""

    def __init__(self, file: Any, name: str) -> None:
        super().__init__(file=file)
        self.name = name


def _print_to(file: Any) -> Any:
    """A logger factory writing to ``file``, as it is now: faust later swaps ``sys.stderr``
    for a proxy into logging, which would wrap riskwire's lines a second time."""

    def named(*args: Any) -> _NamedPrintLogger:
        return _NamedPrintLogger(file, str(args[0]) if args else "")

    return named


def _add_logger_name(logger: Any, method: str, event_dict: Any) -> Any:
    name = getattr(logger, "name", "")
    if name:
        event_dict.setdefault("logger", name)
    return event_dict


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Structured logs on stderr: JSON lines in production, readable in a terminal; the
    standard library's records (every library's) are rendered the same way."""
    structlog.configure(
        processors=[
            *_shared_processors(),
            _add_logger_name,
            structlog.processors.format_exc_info,
            _renderer(fmt),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=_print_to(sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.config.dictConfig(stdlib_logging_config(level, fmt))


def get_logger(name: str) -> Any:
    """A module's logger; lazy, so the configuration in force at its first use applies
    (modules make theirs at import, before :func:`configure_logging`)."""
    return structlog.get_logger(name)
