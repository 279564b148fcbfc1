"""Plain Kafka clients for the command line and the tests: topic administration and a
producer that writes contract events the way a department would (kafka-python)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import NotControllerError, TopicAlreadyExistsError, UnknownBrokerIdError

from core.settings import Settings

DAY_MS = 24 * 3600 * 1000
ENSURE_ATTEMPTS = 5  # ensure_topics' tries while a new cluster's metadata settles
ENSURE_PAUSE_S = 1.0

TOPIC_OF_PREFIX = {
    "enterprise.": "registration.changes",
    "case.": "court.filings",
    "person.": "court.filings",
    "debtor.": "court.filings",
    "tax.": "tax.events",
    "employment.": "tax.events",
    "inspection.": "enforcement.uploads",
    "penalty.": "enforcement.uploads",
    "contact.": "enforcement.uploads",
}


def topic_for(event_type: str) -> str:
    """The contract's default input topic of an event type.

    >>> topic_for("debtor.listed")
    'court.filings'
    """
    for prefix, topic in TOPIC_OF_PREFIX.items():
        if event_type.startswith(prefix):
            return topic
    raise KeyError(event_type)


def all_topics(settings: Settings) -> dict[str, dict[str, str]]:
    """Every topic riskwire reads or writes, with its topic configs."""
    base = {"min.insync.replicas": str(settings.min_insync_replicas)}
    # Input messages outlive neither the retention nor, by more than a segment's roll (a
    # day), the replay horizon that must outlast them (see Settings.replay_horizon_days).
    retained = {
        **base,
        "retention.ms": str(settings.input_retention_days * DAY_MS),
        "segment.ms": str(DAY_MS),
    }
    topics: dict[str, dict[str, str]] = {key: dict(retained) for key in settings.input_topics}
    topics[settings.topic_alerts] = dict(base)
    topics[settings.topic_dlq] = dict(base)
    topics[settings.topic_dlq_outputs] = dict(base)
    topics[settings.topic_grades] = {**base, "cleanup.policy": "compact"}
    topics[settings.topic_alert_archive] = {**base, "cleanup.policy": "compact"}
    topics[settings.topic_audit_anchor] = {**base, "cleanup.policy": "compact"}
    for department in settings.departments:
        topics[settings.department_topic(department)] = dict(base)
    return topics


def ensure_topics(
    settings: Settings, *, timeout_ms: int = 30_000, attempts: int = ENSURE_ATTEMPTS
) -> list[str]:
    """Create the missing topics; answers the names it created.

    Just after a multi-broker cluster starts, the controller a client's first metadata names
    may be a broker that metadata does not list yet (kafka-python raises
    ``UnknownBrokerIdError``), or the controller may move. Both pass within a second or two,
    so the whole step is tried again with a new client, ``attempts`` times at most."""
    for attempt in range(1, attempts + 1):
        try:
            return _ensure_topics_once(settings, timeout_ms)
        except (UnknownBrokerIdError, NotControllerError):
            if attempt == attempts:
                raise
            time.sleep(ENSURE_PAUSE_S)
    raise AssertionError("unreachable")  # pragma: no cover


def _ensure_topics_once(settings: Settings, timeout_ms: int) -> list[str]:
    admin = KafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=timeout_ms
    )
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(name, settings.partitions, settings.replication_factor, topic_configs=configs)
            for name, configs in all_topics(settings).items()
            if name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing, timeout_ms=timeout_ms)
        return [t.name for t in missing]
    finally:
        admin.close()


def input_topic(settings: Settings, event_type: str) -> str:
    """The configured input topic for an event type."""
    default = topic_for(event_type)
    return {
        "registration.changes": settings.topic_registration,
        "court.filings": settings.topic_court,
        "tax.events": settings.topic_tax,
        "enforcement.uploads": settings.topic_enforcement,
    }[default]


def department_producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "acks": "all",
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        "max_request_size": 4 * 1024 * 1024,
    }
    options.update(overrides)
    return KafkaProducer(**options)


def produce_events(
    producer: KafkaProducer, settings: Settings, events: Iterable[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """Send each event to its topic keyed by subject (as the contract asks); yields each
    event once sent, so a caller can drive a progress bar. Flushes at the end."""
    for event in events:
        producer.send(
            input_topic(settings, event["type"]),
            key=event["subject"].encode(),
            value=orjson.dumps(event),
        )
        yield event
    producer.flush()
