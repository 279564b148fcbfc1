"""Telling a message the broker refused for good from a send that may succeed later.

A refused message (too large, an invalid record, a topic it may not write) fails the same
way every time: a relay that retried it would stop on it for ever, so it is dead-lettered
and the relay goes on. Anything else (the broker away, a timeout, a leader moving) is
retried. The producer wraps the broker's error (faust's ``ProducerSendError``), so the
whole ``__cause__`` chain is read.
"""

from __future__ import annotations

from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    KafkaUnavailableError,
    MessageSizeTooLargeError,
    ProducerClosed,
    RecordListTooLargeError,
    RecordTooLargeError,
)

from core.errors import DlqReason

TOO_LARGE = (MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError)
TRANSIENT = (KafkaConnectionError, KafkaTimeoutError, KafkaUnavailableError, ProducerClosed)


def refusal_of(exc: BaseException) -> DlqReason | None:
    """Why the broker or producer refused the message for good; ``None`` when sending it
    again may succeed (or the error is not Kafka's)."""
    seen: set[int] = set()
    err: BaseException | None = exc
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, TOO_LARGE):
            return DlqReason.TOO_LARGE
        if isinstance(err, KafkaError):
            if err.retriable or isinstance(err, TRANSIENT):
                return None
            return DlqReason.BROKER_REFUSED
        err = err.__cause__ or err.__context__
    return None
