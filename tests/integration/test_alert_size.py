"""One oversized alert never silences ``riskwire.alerts`` (issue 9, item 1): not one made
from an event's 600,000-character field, not one grown by 100 officers' notes, and not
any message the broker refuses, which is dead-lettered while the relay goes on."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import orjson
import pytest
from redis.asyncio import Redis

from alerts.size import ALERT_LIMITS
from core.redis_client import redis_client
from core.settings import Settings
from simulate.factory import EventFactory
from streams.relay import Entry, Message, StreamRelay

from .api_kit import Accounts, client, new_alert, store_alert
from .conftest import Proc
from .feed_kit import AioPublisher, produce, read_topic

pytestmark = [pytest.mark.kafka, pytest.mark.redis]


def _published(settings: Settings, fingerprints: Sequence[str], timeout: float = 60) -> dict:
    """The last value published to ``riskwire.alerts`` under each fingerprint."""
    keys = {fp.encode() for fp in fingerprints}
    seen = read_topic(
        settings,
        settings.topic_alerts,
        lambda seen: keys <= {m.key for m in seen},
        timeout=timeout,
    )
    return {m.key.decode(): m.value for m in seen if m.key in keys}


@pytest.mark.e2e
def test_a_600000_character_authority_does_not_silence_the_alert_topic(
    settings: Settings, worker: Proc
) -> None:
    f = EventFactory(source="big-authority", seed=911)
    firm, later = f.uscc(), f.uscc()
    listing = f.event(
        "enterprise.abnormal_listed",
        firm,
        {"reason_code": "unreachable_address", "reason": "住所失联", "authority": "A" * 600_000},
    )
    produce(settings, [f.registered(firm), listing])
    produce(settings, [f.registered(later), f.tax_arrears(later, 300_000.0)])
    values = _published(
        settings, [f"unreachable_contact:enterprise:{firm}", f"tax_arrears:enterprise:{later}"]
    )
    big = values[f"unreachable_contact:enterprise:{firm}"]
    assert len(big) <= ALERT_LIMITS.max_bytes
    assert "已截断" in orjson.loads(big)["explanation"]


@pytest.mark.e2e
def test_100_assign_notes_of_2000_control_characters_do_not_silence_the_alert_topic(
    settings: Settings, worker: Proc, api_server: str
) -> None:
    accounts = Accounts(settings, api_server)
    officer = accounts.make("samr", "duty_officer", "值班员")
    alert = new_alert(["samr"])
    asyncio.run(store_alert(settings, alert))
    note = "\x01" * 2000  # 12 KB once JSON-escaped: 100 of them passed the broker's 1 MiB
    with client(api_server, officer) as c:
        for _ in range(100):
            reply = c.post(
                f"/api/v1/alerts/{alert.alert_id}/assign",
                json={"account_id": officer.account_id, "note": note},
            )
            assert reply.status_code == 200, reply.text
    after = new_alert(["samr"])
    asyncio.run(store_alert(settings, after))
    values = _published(settings, [alert.fingerprint, after.fingerprint])
    last = orjson.loads(values[alert.fingerprint])
    assert last["revision"] == 101, "the last assignment was not published"
    assert len(values[alert.fingerprint]) <= ALERT_LIMITS.max_bytes
    assert last["timeline"][-1]["note"] == note


class EchoRelay(StreamRelay):
    """Publishes each entry's ``v`` to one topic, keyed by its ``k``."""

    def __init__(self, redis: Redis, publisher: AioPublisher, topic: str, **kw: object) -> None:
        super().__init__(redis, publisher, **kw)  # type: ignore[arg-type]
        self.topic = topic

    async def messages(self, entries: Sequence[Entry]) -> list[Message]:
        return [(self.topic, fields[b"k"], fields[b"v"]) for _, fields in entries]


async def test_a_message_the_broker_refuses_is_dead_lettered_and_the_relay_goes_on(
    settings: Settings,
) -> None:
    run = uuid.uuid4().hex[:8]
    stream = f"rw:test-refusal:{run}"
    keys = [f"{run}-{n}".encode() for n in ("before", "huge", "after")]
    huge = b'{"v":"' + b"x" * (2 * 1024 * 1024) + b'"}'  # over the producer's 1 MiB
    redis = redis_client(settings.redis_url)
    publisher = AioPublisher(settings.kafka_bootstrap)
    await publisher.producer.start()
    relay = EchoRelay(
        redis,
        publisher,
        settings.topic_alerts,
        stream=stream,
        group="g",
        consumer="c",
        block_ms=200,
        dead_letter_topic=settings.topic_dlq_outputs,
    )
    stopping = asyncio.Event()
    task = asyncio.create_task(relay.run(stopping))
    try:
        for key, value in zip(keys, [b"1", huge, b"3"], strict=True):
            await redis.xadd(stream, {"k": key, "v": value})
        seen = await asyncio.to_thread(
            read_topic,
            settings,
            settings.topic_alerts,
            lambda seen: keys[2] in {m.key for m in seen},
        )
        assert not task.done(), "the relay stopped"
    finally:
        stopping.set()
        await asyncio.wait_for(task, timeout=10)
        await publisher.producer.stop()
        await redis.delete(stream)
        await redis.aclose()
    # At least once (an entry published before the refusal may be published again), and
    # the keys land on different partitions, so only which were published is compared.
    assert {m.key for m in seen if m.key in keys} == {keys[0], keys[2]}
    letters = await asyncio.to_thread(
        read_topic,
        settings,
        settings.topic_dlq_outputs,
        lambda seen: keys[1] in {m.key for m in seen},
    )
    [letter] = [m for m in letters if m.key == keys[1]]
    doc = orjson.loads(letter.value)
    assert doc["reason"] == "too_large"
    assert (doc["topic"], doc["stream"]) == (settings.topic_alerts, stream)
    assert doc["raw_bytes"] == len(huge)
    assert doc["raw_truncated"] is True
    assert len(letter.value) < 512 * 1024
