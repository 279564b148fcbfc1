"""``riskwire alerts archive``: read alerts back from the compacted archive topic, including
those the retention removed from Redis.

The archive topic (``RISKWIRE_TOPIC_ALERT_ARCHIVE``) holds every alert change keyed by
alert id; compaction leaves the latest revision of each alert (until the log cleaner has
run, older revisions too: the reader keeps the highest ``revision`` per alert). A query
is a bounded scan: it reads every partition from its start to the end offset it had when
the query began (records written later are not waited for), at most ``max_records``
records in all, and filters as it goes. Its cost is therefore one sequential read of
the topic, proportional to the number of alerts ever raised, not to the answer; the
README gives the measured rate. It is an operator's tool, not an officer's page.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition

from core.settings import Settings

Match = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True, slots=True)
class ArchiveFilter:
    alert_id: str | None = None
    uscc: str | None = None
    rule_id: str | None = None
    department: str | None = None
    status: str | None = None

    def matches(self, alert: dict[str, Any]) -> bool:
        return not (
            (self.alert_id and alert.get("alert_id") != self.alert_id)
            or (self.uscc and self.uscc not in alert.get("enterprises", ()))
            or (self.rule_id and alert.get("rule_id") != self.rule_id)
            or (self.department and self.department not in alert.get("departments", ()))
            or (self.status and alert.get("status") != self.status)
        )


@dataclass(slots=True)
class ArchiveScan:
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)  # matching, latest
    scanned: int = 0
    complete: bool = False  # every partition read to its end offset
    _revisions: dict[str, int] = field(default_factory=dict)

    def add(self, value: bytes, match: Match) -> None:
        self.scanned += 1
        alert = orjson.loads(value)
        alert_id, revision = alert["alert_id"], int(alert.get("revision", 1))
        if revision < self._revisions.get(alert_id, 0):
            return
        self._revisions[alert_id] = revision
        if match(alert):
            self.alerts[alert_id] = alert
        else:
            self.alerts.pop(alert_id, None)


def _records(consumer: KafkaConsumer, ends: dict[TopicPartition, int]) -> Iterator[Any]:
    left = {tp for tp, end in ends.items() if end > 0}
    idle_until = time.monotonic() + 30
    while left and time.monotonic() < idle_until:
        batch = consumer.poll(timeout_ms=1000, max_records=5000)
        if batch:
            idle_until = time.monotonic() + 30
        for tp, records in batch.items():
            for record in records:
                if record.offset < ends[tp]:
                    yield record
            if consumer.position(tp) >= ends[tp]:
                left.discard(tp)
                consumer.pause(tp)


def scan_archive(settings: Settings, match: Match, *, max_records: int) -> ArchiveScan:
    """The latest revision of every archived alert that ``match`` accepts."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    scan = ArchiveScan()
    try:
        parts = consumer.partitions_for_topic(settings.topic_alert_archive) or set()
        tps = [TopicPartition(settings.topic_alert_archive, p) for p in sorted(parts)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends: dict[TopicPartition, int] = consumer.end_offsets(tps)
        cut = False
        for record in _records(consumer, ends):
            if scan.scanned >= max_records:
                cut = True
                break
            if record.value is not None:
                scan.add(record.value, match)
            else:  # a tombstone
                scan.scanned += 1
        scan.complete = not cut and all(consumer.position(tp) >= e for tp, e in ends.items())
    finally:
        consumer.close()
    return scan


def archive_command(settings: Settings, query: ArchiveFilter, *, max_records: int) -> int:
    """Print the matching alerts (JSON lines, newest first), then a summary line."""
    started = time.monotonic()
    scan = scan_archive(settings, query.matches, max_records=max_records)
    for alert_id in sorted(scan.alerts, reverse=True):
        print(orjson.dumps(scan.alerts[alert_id]).decode())
    took = time.monotonic() - started
    print(
        f"scanned={scan.scanned} matched={len(scan.alerts)} "
        f"complete={str(scan.complete).lower()} seconds={took:.1f}"
    )
    return 0 if scan.complete else 2
