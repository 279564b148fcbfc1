"""Closed alerts leave Redis after the retention, on an injected clock, only once the relay
has put them on Kafka, without touching the dedup entry of a still-open alert of the same
fingerprint; the archive query reads them back from the compacted topic on real Kafka."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from alerts.archive import ArchiveFilter, scan_archive
from alerts.dedup import Change
from alerts.index import AlertQuery, list_page
from alerts.lifecycle import transition
from alerts.notify.inbound import TIMELINE_KEY
from alerts.relay import AlertRelay
from alerts.retention import AlertSweeper
from alerts.store import CLOSED_KEY, DOC_KEY, FEED_KEY, OPEN_KEY, AlertStore, Upsert
from core.clock import FakeClock
from core.redis_client import redis_client
from core.settings import Settings
from streams.alert import Actor, Alert, AlertAction

from .api_kit import cli, new_alert
from .conftest import claim_redis_db, isolated_settings

pytestmark = [pytest.mark.redis, pytest.mark.kafka]

T0 = datetime(2026, 1, 5, 8, tzinfo=UTC)
RETENTION = timedelta(days=180)
OFFICER = Actor(account_id="a1", name="值班员", department="samr")


class KafkaPublisher:
    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    async def publish(self, messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        sent = [await self._producer.send(t, value=v, key=k) for t, k, v in messages]
        await asyncio.gather(*sent)


@pytest.fixture
def own(services: dict[str, str]) -> Settings:
    """Topics and a Redis database of this test's own: the sweep acts on every closed
    alert of its database."""
    url = claim_redis_db(
        services,
        uuid.uuid4().hex[:8],
        marker="rw:test:alert-retention",
        lock="rw:test:alert-retention:lock",
        dbs=(11, 10, 9, 8),
    )
    return isolated_settings(services, kind="retention", redis_url=url)


def _swept() -> float:
    return REGISTRY.get_sample_value("riskwire_alerts_swept_total") or 0.0


def _at(alert: Alert, when: datetime) -> Alert:
    return alert.model_copy(update={"created_at": when, "updated_at": when, "event_time": when})


async def _close(store: AlertStore, alert: Alert, action: AlertAction, when: datetime) -> Alert:
    done = transition(alert, action, by=OFFICER, now=when)
    [seq] = await store.upsert([Upsert(done, alert.revision, Change.STATUS, 0)])
    assert seq is not None
    return done


async def _relay_all(redis: Redis, settings: Settings) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        relay = AlertRelay(
            redis,
            KafkaPublisher(producer),
            topic=settings.topic_alerts,
            consumer="test",
            block_ms=100,
            archive_topic=settings.topic_alert_archive,
        )
        await relay.ensure_group()
        while await relay.step():
            pass
    finally:
        await producer.stop()


async def _listed(redis: Redis) -> set[str]:
    page = await list_page(redis, AlertQuery(None), after=None, limit=500)
    return {json.loads(d)["alert_id"] for d in page.docs}


async def _history(store: AlertStore) -> tuple[Alert, Alert, Alert, Alert, Alert]:
    """a resolved on day 1; first dismissed on day 2 and its condition firing again on day
    3 (again, open, same fingerprint); b dismissed on day 100; c open."""
    a = _at(new_alert(["samr", "qianhai-authority"], rule_id="tax_arrears"), T0)
    b = _at(new_alert(["samr", "qianhai-authority"], rule_id="tax_arrears"), T0)
    c = _at(new_alert(["samr", "qianhai-authority"], rule_id="tax_arrears"), T0)
    first = _at(new_alert(["samr"], rule_id="shell_company"), T0)
    await store.upsert([Upsert(x, 0, Change.CREATED, 0) for x in (a, b, c, first)])
    a = await _close(store, a, AlertAction.RESOLVE, T0 + timedelta(days=1))
    first = await _close(store, first, AlertAction.DISMISS, T0 + timedelta(days=2))
    again = _at(new_alert(["samr"], rule_id="shell_company"), T0 + timedelta(days=3))
    again = again.model_copy(update={"fingerprint": first.fingerprint, "subject": first.subject})
    await store.upsert([Upsert(again, 0, Change.CREATED, 0)])
    b = await _close(store, b, AlertAction.DISMISS, T0 + timedelta(days=100))
    return a, b, c, first, again


async def test_the_sweep_removes_closed_alerts_past_the_retention_once_archived(
    own: Settings,
) -> None:
    redis = redis_client(own.redis_url)
    store, clock = AlertStore(redis), FakeClock(T0)
    try:
        a, b, c, first, again = await _history(store)
        await redis.rpush(TIMELINE_KEY.format(alert_id=a.alert_id), b"{}")

        clock.advance((timedelta(days=200)).total_seconds())  # a and first are past it
        sweeper = AlertSweeper(redis, clock, retention=RETENTION, batch=1)
        assert await sweeper.tick() == 0, "nothing leaves Redis before Kafka has it"

        await _relay_all(redis, own)
        before = _swept()
        assert await sweeper.tick() == 1, "a tick does at most its batch"
        assert await sweeper.tick() == 1
        assert await sweeper.tick() == 0, "b is closed for 100 days only"
        assert _swept() - before == 2

        gone = {a.alert_id, first.alert_id}
        for alert_id in gone:
            assert await redis.hget(DOC_KEY, alert_id) is None
            assert await redis.zscore(CLOSED_KEY, alert_id) is None
        assert await redis.exists(TIMELINE_KEY.format(alert_id=a.alert_id)) == 0
        assert await _listed(redis) == {b.alert_id, c.alert_id, again.alert_id}
        for key in [k async for k in redis.scan_iter(match="rw:{alerts}:ix:v1:*")]:
            assert not gone & {m.decode() for m in await redis.zrange(key, 0, -1)}, key
        # the still-open alert of the swept one's fingerprint still deduplicates its hits
        assert await redis.hget(OPEN_KEY, first.fingerprint) == again.alert_id.encode()
        assert (await store.open_alerts([first.fingerprint]))[first.fingerprint] == again

        # a later closing is swept only once relayed, even long past the retention
        c = await _close(store, c, AlertAction.RESOLVE, T0 + timedelta(days=101))
        clock.advance(timedelta(days=400).total_seconds())
        assert await sweeper.tick() == 1  # b (relayed earlier); c is not yet on Kafka
        assert await redis.hget(DOC_KEY, c.alert_id) is not None
        await _relay_all(redis, own)
        assert await sweeper.tick() == 1
        assert await _listed(redis) == {again.alert_id}
        assert await redis.xlen(FEED_KEY) > 0  # the feed is the relay's, left alone

        archived = scan_archive(own, ArchiveFilter().matches, max_records=1000)
        assert archived.complete
        assert {x: archived.alerts[x]["status"] for x in (a.alert_id, first.alert_id)} == {
            a.alert_id: "resolved",
            first.alert_id: "dismissed",
        }
        assert archived.alerts[c.alert_id]["revision"] == c.revision
    finally:
        await redis.aclose()


def test_the_archive_command_reads_swept_alerts_back_with_a_bounded_scan(
    own: Settings,
) -> None:
    async def fill() -> list[Alert]:
        redis = redis_client(own.redis_url)
        store = AlertStore(redis)
        made = [_at(new_alert(["tax"], rule_id="tax_arrears"), T0) for _ in range(5)]
        try:
            await store.upsert([Upsert(x, 0, Change.CREATED, 0) for x in made])
            made[0] = await _close(store, made[0], AlertAction.RESOLVE, T0)
            await _relay_all(redis, own)
            sweeper = AlertSweeper(redis, FakeClock(T0 + RETENTION * 2), retention=RETENTION)
            assert await sweeper.tick() == 1
            assert await redis.hget(DOC_KEY, made[0].alert_id) is None
        finally:
            await redis.aclose()
        return made

    made = asyncio.run(fill())
    out = cli(own, "alerts", "archive", "--uscc", made[0].enterprises[0])
    lines = out.stdout.strip().splitlines()
    assert lines[-1].startswith("scanned=")
    assert "matched=1 complete=true" in lines[-1]
    assert json.loads(lines[0])["alert_id"] == made[0].alert_id
    assert json.loads(lines[0])["status"] == "resolved"
    resolved = cli(own, "alerts", "archive", "--status", "resolved").stdout.splitlines()
    assert [json.loads(x)["alert_id"] for x in resolved[:-1]] == [made[0].alert_id]
    cut = cli(own, "alerts", "archive", "--max-records", "2", check=False)
    assert cut.returncode == 2
    assert "scanned=2 " in cut.stdout
    assert "complete=false" in cut.stdout
