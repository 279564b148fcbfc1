"""Publishing what the broker refuses (issue 9, items 1 to 3): a refusal is told from a
transient failure, a dead letter the broker still refuses goes without its excerpt, a
transient failure is retried then raised for the batch to be retried, and a worker task
that raises is restarted."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import orjson
import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
    TopicAuthorizationFailedError,
)
from faust.exceptions import ProducerSendError

from core.errors import DlqReason, InvalidEvent, PublishError
from core.supervise import Backoff
from processors import dead_letters
from processors.dead_letters import KafkaDeadLetters
from processors.pipeline import DeadLetter, Incoming
from processors.supervise import keep_running, reported
from streams.refusal import refusal_of

Message = tuple[str, bytes | None, bytes]


def _wrapped(exc: Exception) -> Exception:
    """As faust's producer raises it: the broker's error as the cause."""
    try:
        raise ProducerSendError(f"Error while sending: {exc!r}") from exc
    except ProducerSendError as wrapped:
        return wrapped


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (_wrapped(MessageSizeTooLargeError()), DlqReason.TOO_LARGE),
        (MessageSizeTooLargeError(), DlqReason.TOO_LARGE),
        (_wrapped(TopicAuthorizationFailedError()), DlqReason.BROKER_REFUSED),
        (_wrapped(NotLeaderForPartitionError()), None),
        (KafkaTimeoutError(), None),
        (_wrapped(KafkaConnectionError()), None),
        (ValueError("not Kafka's"), None),
    ],
    ids=["too-large", "too-large-bare", "refused", "retriable", "timeout", "away", "other"],
)
def test_a_refusal_is_told_from_a_transient_failure(
    error: Exception, reason: DlqReason | None
) -> None:
    assert refusal_of(error) is reason


class SizeLimited:
    """A broker that refuses any message over ``limit`` bytes, and keeps the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sent: list[Message] = []

    async def publish(self, messages: Sequence[Message]) -> None:
        if any(len(value) > self.limit for _, _, value in messages):
            raise _wrapped(MessageSizeTooLargeError())
        self.sent += messages


class Away:
    def __init__(self) -> None:
        self.calls = 0

    async def publish(self, messages: Sequence[Message]) -> None:
        self.calls += 1
        raise _wrapped(KafkaConnectionError())


def _letter(value: bytes, offset: int = 1) -> DeadLetter:
    msg = Incoming("registration.changes", 0, offset, b"k", value, 1_000)
    return DeadLetter(msg, InvalidEvent(DlqReason.NOT_JSON, "not JSON"))


async def test_a_dead_letter_still_refused_is_sent_without_its_excerpt() -> None:
    broker = SizeLimited(limit=2_000)
    small, big = _letter(b"{oops", 1), _letter(b"x" * 10_000, 2)
    await KafkaDeadLetters(broker, "dlq").dead_letter([small, big])
    docs = [orjson.loads(value) for _, _, value in broker.sent]
    assert [d["offset"] for d in docs] == [1, 2]
    assert docs[0]["raw"] == "{oops"
    assert (docs[1]["raw"], docs[1]["raw_bytes"], docs[1]["raw_truncated"]) == ("", 10_000, True)


async def test_a_dead_letter_the_broker_cannot_take_now_is_retried_then_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dead_letters, "RETRY_DELAY_S", 0.001)
    broker = Away()
    with pytest.raises(PublishError) as caught:
        await KafkaDeadLetters(broker, "dlq").dead_letter([_letter(b"{oops")])
    assert caught.value.refused is None
    assert broker.calls == dead_letters.PUBLISH_ATTEMPTS


async def test_a_worker_task_that_raises_is_restarted() -> None:
    runs: list[int] = []

    async def flaky() -> None:
        runs.append(len(runs))
        if len(runs) < 3:
            raise ConnectionError("Redis went away")

    await asyncio.wait_for(keep_running("test", flaky, backoff=Backoff(0.001, 0.001)), timeout=5)
    assert runs == [0, 1, 2]


async def test_a_timer_round_that_raises_is_reported_not_raised() -> None:
    async def broken() -> None:
        raise ConnectionError("Redis went away")

    await reported("test", broken)  # no exception: the next round runs
