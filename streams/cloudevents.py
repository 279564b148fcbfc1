"""CloudEvents 1.0 attributes of the messages riskwire publishes, in Kafka binary mode.

The value of an alert, grade or dead-letter message stays exactly the JSON body that
``alerts.md`` and ``events.md`` fix; the event's context travels in Kafka headers, as the
CloudEvents Kafka protocol binding's binary mode has it: ``ce_specversion``, ``ce_id``,
``ce_source``, ``ce_type``, ``ce_time``, ``ce_subject`` (alerts and grades) and
``content-type``.

An id is derived from the body, so a message that a relay publishes again (they publish
at least once) carries the same id and a consumer can drop the duplicate:

- alert: ``<alert_id>.<revision>`` (each change of an alert is a new revision);
- grade: a hash of the body (the topic is compacted by uscc; one body, one grade change);
- dead letter: ``<topic>.<partition>.<offset>`` of the input message (a hash of the body
  when it names no offset).

``ce_time`` is the alert's ``updated_at``, the grade's ``time``, or the moment a message
was dead-lettered (from the injected clock). The dead letter's key and raw input are never
copied into a header: a person-subject key holds a raw id_number.

>>> from datetime import UTC, datetime
>>> from core.clock import FakeClock
>>> stamp = CloudEventHeaders(
...     source="/riskwire/demo", alerts_topic="riskwire.alerts",
...     grades_topic="riskwire.grades", dlq_topic="riskwire.dlq",
...     clock=FakeClock(datetime(2026, 1, 1, tzinfo=UTC)))
>>> headers = dict(stamp("riskwire.dlq", b'{"topic": "tax.events", "partition": 3, "offset": 7}'))
>>> headers["ce_id"], headers["ce_type"], headers["ce_time"]
(b'tax.events.3.7', b'riskwire.dead_letter.v1', b'2026-01-01T00:00:00Z')
>>> stamp("some.other.topic", b"{}") is None
True
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Any, Final

import orjson

from core.clock import Clock
from core.settings import Settings

SPECVERSION: Final = "1.0"
CONTENT_TYPE: Final = "application/json"
MAX_ATTRIBUTE = 512  # characters kept of any attribute taken from a body

Headers = list[tuple[str, bytes]]


class EventType(StrEnum):
    """The ``ce_type`` of each kind of message riskwire publishes."""

    ALERT = "riskwire.alert.v1"
    GRADE = "riskwire.grade.v1"
    DEAD_LETTER = "riskwire.dead_letter.v1"


def event_source(app_id: str) -> str:
    """The ``ce_source`` of a deployment: a URI reference naming its app id.

    >>> event_source("riskwire")
    '/riskwire/riskwire'
    """
    return f"/riskwire/{app_id}"


def _text(value: Any) -> str:
    return str(value)[:MAX_ATTRIBUTE]


def _rfc3339(clock: Clock) -> str:
    return clock.now().isoformat().replace("+00:00", "Z")


class CloudEventHeaders:
    """Knows which output topic carries which kind of message, and stamps one message:
    ``stamp(topic, value)`` answers its headers, or ``None`` for a topic that is not an
    alert, grade or dead-letter topic."""

    def __init__(
        self,
        *,
        source: str,
        alerts_topic: str,
        grades_topic: str,
        dlq_topic: str,
        clock: Clock,
        archive_topic: str = "",
        dlq_outputs_topic: str | None = None,
    ) -> None:
        self._source = source.encode()
        self._alerts, self._grades, self._dlq = alerts_topic, grades_topic, dlq_topic
        self._archive = archive_topic  # every alert's latest revision, keyed by alert id
        self._dlqs = frozenset({dlq_topic, dlq_outputs_topic or dlq_topic})
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock) -> CloudEventHeaders:
        return cls(
            source=event_source(settings.app_id),
            alerts_topic=settings.topic_alerts,
            grades_topic=settings.topic_grades,
            dlq_topic=settings.topic_dlq,
            archive_topic=settings.topic_alert_archive,
            dlq_outputs_topic=settings.topic_dlq_outputs,
            clock=clock,
        )

    def kind_of(self, topic: str) -> EventType | None:
        if topic in self._dlqs:
            return EventType.DEAD_LETTER
        if topic == self._grades:
            return EventType.GRADE
        if topic in (self._alerts, self._archive) or topic.startswith(self._alerts + "."):
            return EventType.ALERT
        return None

    def __call__(self, topic: str, value: bytes) -> Headers | None:
        kind = self.kind_of(topic)
        if kind is None:
            return None
        try:
            doc = orjson.loads(value)
        except orjson.JSONDecodeError:
            doc = None
        body: dict[str, Any] = doc if isinstance(doc, dict) else {}
        event_id, time, subject = self._context(kind, body, value)
        headers: Headers = [
            ("ce_specversion", SPECVERSION.encode()),
            ("ce_id", event_id.encode()),
            ("ce_source", self._source),
            ("ce_type", kind.value.encode()),
            ("ce_time", time.encode()),
        ]
        if subject:
            headers.append(("ce_subject", subject.encode()))
        headers.append(("content-type", CONTENT_TYPE.encode()))
        return headers

    def _context(
        self, kind: EventType, body: dict[str, Any], value: bytes
    ) -> tuple[str, str, str | None]:
        """``(id, time, subject)`` of one body; a body without the expected fields (never
        published by riskwire) still gets a content-hash id and the current time."""
        digest = hashlib.blake2b(value, digest_size=16).hexdigest()
        if kind is EventType.ALERT and "alert_id" in body:
            return (
                _text(f"{body['alert_id']}.{body.get('revision', 1)}"),
                _text(body.get("updated_at") or body.get("created_at") or _rfc3339(self._clock)),
                _text(body.get("fingerprint", "")) or None,
            )
        if kind is EventType.GRADE and "uscc" in body:
            time = _text(body.get("time") or _rfc3339(self._clock))
            return digest, time, _text(body["uscc"])
        if kind is EventType.DEAD_LETTER and isinstance(body.get("offset"), int):
            event_id = _text(f"{body.get('topic')}.{body.get('partition')}.{body['offset']}")
            return event_id, _rfc3339(self._clock), None
        return digest, _rfc3339(self._clock), None
