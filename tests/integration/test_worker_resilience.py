"""One bad input or one Redis error never stops the worker (issue 9, items 2 and 3): fed
to a real worker process, or to a processor whose dead letters go to the real broker."""

from __future__ import annotations

import base64
import hashlib

import orjson
import pytest

from core.redis_client import sync_client
from core.settings import Settings
from processors.dead_letters import KafkaDeadLetters
from processors.progress import STATS_KEY
from simulate.factory import EventFactory
from streams.codec import Decoder
from streams.identifiers import PersonKeyer

from ..unit.pipeline_kit import Feeder, processor
from .conftest import Proc
from .feed_kit import (
    AioPublisher,
    fresh_topic,
    produce,
    produce_raw,
    read_topic,
    wait_for_profiles,
)

pytestmark = [pytest.mark.kafka, pytest.mark.redis]

DLQ_MESSAGE_BOUND = 512 * 1024
# ~1 MB that is not UTF-8: its base64 copy (1.33 MB) is more than the broker accepts.
BIG_NOT_UTF8 = b"\xff\xfe" + hashlib.shake_256(b"riskwire").digest(999_998)


def _check_excerpt(value: bytes, original: bytes) -> None:
    assert len(value) < DLQ_MESSAGE_BOUND
    doc = orjson.loads(value)
    assert doc["reason"] == "not_json"
    assert doc["raw_bytes"] == len(original)
    assert doc["raw_sha256"] == hashlib.sha256(original).hexdigest()
    assert doc["raw_truncated"] is True
    assert doc["raw_encoding"] == "base64"
    excerpt = base64.b64decode(doc["raw"])
    assert excerpt
    assert original.startswith(excerpt)


async def test_an_oversized_dead_letter_never_fails_its_batch(settings: Settings) -> None:
    f = EventFactory(source="big-dlq-batch", seed=900)
    good = f.registered()
    # The feeder's messages say registration.changes, not the session's input topic: their
    # dead letters go to a topic of their own, not the session's DLQ.
    dlq = fresh_topic(settings, settings.topic_dlq)
    publisher = AioPublisher(settings.kafka_bootstrap)
    await publisher.producer.start()
    try:
        letters = KafkaDeadLetters(publisher, dlq)
        keyer = PersonKeyer(b"riskwire-integration-test-secret")
        feeder = Feeder(processor(Decoder(keyer), dead_letters=letters))
        report = await feeder.feed(BIG_NOT_UTF8, good)  # one batch: the bad value first
    finally:
        await publisher.producer.stop()
    assert report.dead_lettered == 1
    assert report.applied == 1, "the valid event of the batch was not applied"
    # The feeder's messages have no key: find ours by its digest.
    digest = hashlib.sha256(BIG_NOT_UTF8).hexdigest()
    seen = read_topic(settings, dlq, lambda seen: any(digest.encode() in m.value for m in seen))
    [letter] = [m for m in seen if digest.encode() in m.value]
    _check_excerpt(letter.value, BIG_NOT_UTF8)


@pytest.mark.e2e
def test_an_oversized_non_utf8_value_is_dead_lettered_as_an_excerpt_and_the_rest_applied(
    settings: Settings, worker: Proc
) -> None:
    f = EventFactory(source="big-dlq", seed=901)
    before, after = f.registered(), f.registered()
    key = b"big-not-utf8"
    produce_raw(
        settings,
        settings.topic_registration,
        [(key, orjson.dumps(before)), (key, BIG_NOT_UTF8), (key, orjson.dumps(after))],
    )
    missing = wait_for_profiles(settings, [before["subject"], after["subject"]])
    assert not missing, "valid events around the big value were not applied"
    letters = read_topic(settings, settings.topic_dlq, lambda seen: any(m.key == key for m in seen))
    [letter] = [m for m in letters if m.key == key]
    _check_excerpt(letter.value, BIG_NOT_UTF8)
    assert worker.alive()


@pytest.mark.e2e
def test_a_redis_error_in_the_progress_counter_is_reported_not_a_crash(
    settings: Settings, worker: Proc
) -> None:
    f = EventFactory(source="progress-fault", seed=902)
    first, second = f.registered(), f.registered()
    client = sync_client(settings.redis_url)
    saved = client.hget(STATS_KEY, "processed")
    log_from = worker.log.stat().st_size
    client.delete(STATS_KEY)
    client.set(STATS_KEY, b"not a hash")  # HINCRBY now answers WRONGTYPE after each batch
    try:
        produce(settings, [first])
        assert not wait_for_profiles(settings, [first["subject"]])
        produce(settings, [second])
        assert not wait_for_profiles(settings, [second["subject"]]), "consumption stopped"
    finally:
        client.delete(STATS_KEY)
        if saved is not None:
            client.hset(STATS_KEY, "processed", saved)
        client.close()
    with worker.log.open("rb") as log:
        log.seek(log_from)
        text = log.read().decode(errors="replace")
    assert "Crashed" not in text, "the agent crashed on the progress counter's Redis error"
    assert "progress count not updated" in text, "the Redis error was not reported"
    assert worker.alive()
