"""What a batch is made of: the messages the worker received, the ones refused, and the
report of what became of them."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import InvalidEvent
from streams.alert import Alert
from streams.event import Event


@dataclass(frozen=True, slots=True)
class Incoming:
    """One Kafka message as the worker received it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    message: Incoming
    error: InvalidEvent


@dataclass(slots=True)
class BatchReport:
    accepted: int = 0
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    alerts: list[Alert] = field(default_factory=list)
    # sequential Redis round trips (core/round_trips.py): a measure, not an outcome
    round_trips: int = field(default=0, compare=False)


# An accepted event with the message it came in.
Received = tuple[Incoming, Event]
