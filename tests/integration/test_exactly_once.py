"""Exactly-once through a ``kill -9``: a worker is killed while it consumes ~20,000 events,
a new one takes over its consumer group, and every enterprise profile ends up counting
every distinct event exactly once (nothing lost, nothing counted twice).

The test runs on topics, a consumer group and a Redis database of its own (an empty one
it claims, see ``claim_redis_db``), so killing its worker never disturbs the session
worker, and flushing its database never disturbs another test session. It lowers
faust's consumer session timeout (``BROKER_SESSION_TIMEOUT``) for its workers so that the
group gives the dead worker's partitions to the new one within seconds instead of a minute.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis as redis_sync
from kafka import KafkaConsumer, TopicPartition

from core.settings import Settings
from processors.profiles.model import EnterpriseProfile
from processors.profiles.redis import doc_key, seen_key
from processors.profiles.store import EntityRef
from processors.progress import STATS_KEY
from streams.factory import EventFactory
from streams.kafka import department_producer, input_topic, produce_events

from .conftest import Proc, isolated_settings, start_worker

pytestmark = [pytest.mark.kafka, pytest.mark.redis]

# Databases this test may claim, preferred first (14 is the benchmark's, 15 the session's).
KILL_REDIS_DBS = (13, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
OURS = "rw:test:exactly-once"  # marks a database this test uses (or an earlier run left)
LOCK = "rw:test:exactly-once:lock"  # a run holds its database with this
ENTERPRISES = 500
BODY_EVENTS = 19_000  # contact.failed and tax.paid, besides the registrations
RESENT = 300  # copies of earlier events, same (source, id): must count once
SAME_ID_OTHER_SOURCE = 50  # same id, another source: a different event, counts
UNKEYED = 150  # distinct events produced with key=None
KILL_AT = 0.3  # kill the first worker once this share of the messages is processed
T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)


def claim_redis_db(services: dict[str, str], run: str) -> str:
    """The URL of a Redis database for this run alone: an empty one, or one an earlier run
    of this test left behind, locked against concurrent runs and emptied. Other sessions on
    this Redis (another ``RISKWIRE_TEST_REDIS_DB``, the benchmark) never lose their data."""
    base, _, session_db = services["redis"].rpartition("/")
    for db in KILL_REDIS_DBS:
        if str(db) == session_db:
            continue
        client = redis_sync.Redis.from_url(f"{base}/{db}")
        try:
            if client.dbsize() and not client.exists(OURS):
                continue  # someone else's
            if not client.set(LOCK, run, nx=True, ex=600):
                continue  # a concurrent run of this test
            for key in client.scan_iter(count=1000):
                if key != LOCK.encode():
                    client.unlink(key)
            client.set(OURS, run)
            return f"{base}/{db}"
        finally:
            client.close()
    raise AssertionError(f"no free Redis database among {KILL_REDIS_DBS}")


class Plan:
    """The messages to produce, and what every profile must count afterwards."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        tag = uuid.uuid4().hex[:6]
        samr = EventFactory(source=f"samr-{tag}", seed=seed)
        tax = EventFactory(source=f"tax-{tag}", seed=seed + 1)
        enforcement = EventFactory(source=f"enforcement-{tag}", seed=seed + 2)
        self.usccs = sorted({samr.uscc() for _ in range(ENTERPRISES)})
        self.expected: dict[str, Counter[str]] = {u: Counter() for u in self.usccs}
        self.distinct: Counter[str] = Counter()  # enterprise -> distinct events
        self.failures: dict[str, Counter[str]] = {u: Counter() for u in self.usccs}  # ids
        # (event, keyed): in the order they are produced
        self.messages: list[tuple[dict[str, Any], bool]] = []

        def when() -> datetime:  # within three days: no window is ever trimmed
            return T0 + timedelta(seconds=rng.randrange(3 * 86400))

        def add(event: dict[str, Any], *, keyed: bool = True, distinct: bool = True) -> None:
            self.messages.append((event, keyed))
            if distinct:
                self.expected[event["subject"]][event["type"]] += 1
                self.distinct[event["subject"]] += 1
                if event["type"] == "contact.failed":
                    self.failures[event["subject"]][event["id"]] += 1

        for uscc in self.usccs:
            add(samr.registered(uscc, time=when()))
        body: list[dict[str, Any]] = []
        for _ in range(BODY_EVENTS):
            uscc = rng.choice(self.usccs)
            if rng.random() < 0.5:
                channel = rng.choice(["phone", "address", "mail"])
                data = {"department": "enforcement-bureau", "channel": channel}
                body.append(enforcement.event("contact.failed", uscc, data, time=when()))
            else:
                body.append(tax.tax_paid(uscc, time=when()))
        unkeyed = set(rng.sample(range(BODY_EVENTS), UNKEYED))
        resent_after = {
            i: rng.randrange(i, BODY_EVENTS) for i in rng.sample(range(BODY_EVENTS), RESENT)
        }
        again: dict[int, list[int]] = {}
        for original, at in resent_after.items():
            again.setdefault(at, []).append(original)
        for i, event in enumerate(body):
            add(event, keyed=i not in unkeyed)
            for original in again.get(i, []):
                # A department re-sends an event: same source and id, maybe unkeyed this time.
                add(dict(body[original]), keyed=rng.random() < 0.8, distinct=False)
        for original in rng.sample(range(BODY_EVENTS), SAME_ID_OTHER_SOURCE):
            add({**body[original], "source": f"police-{tag}"})
        self.total = len(self.messages)
        self.resent = RESENT


def produce(settings: Settings, plan: Plan) -> None:
    """Send the plan as departments would: keyed by subject, a few with no key."""
    producer = department_producer(settings)
    try:
        chunk: list[dict[str, Any]] = []
        for event, keyed in plan.messages:
            if keyed:
                chunk.append(event)
                continue
            for _ in produce_events(producer, settings, chunk):
                pass
            chunk = []
            producer.send(input_topic(settings, event["type"]), key=None, value=orjson.dumps(event))
        for _ in produce_events(producer, settings, chunk):
            pass
        producer.flush()
    finally:
        producer.close(timeout=10)


def processed(client: redis_sync.Redis) -> int:
    return int(client.hget(STATS_KEY, "processed") or 0)


class Lag:
    """How many input messages the worker group has not committed yet."""

    def __init__(self, settings: Settings) -> None:
        # Asks for the group's committed offsets; never joins the group.
        self._consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=settings.app_id,
            enable_auto_commit=False,
        )
        self._tps = [
            TopicPartition(topic, p)
            for topic in settings.input_topics
            for p in range(settings.partitions)
        ]
        self._checked = 0.0
        self.last: int | None = None

    def __call__(self) -> int | None:
        if time.monotonic() - self._checked > 0.5:
            self._checked = time.monotonic()
            ends = self._consumer.end_offsets(self._tps)
            self.last = sum(ends.values()) - self.committed()
        return self.last

    def committed(self) -> int:
        """Input messages the group has committed (the topics are new: offsets start at 0)."""
        return sum(self._consumer.committed(tp) or 0 for tp in self._tps)

    def close(self) -> None:
        self._consumer.close()


def topic_size(settings: Settings, topic: str) -> int:
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"{settings.app_id}-probe",  # never joined: only reads end offsets
        enable_auto_commit=False,
    )
    try:
        tps = [TopicPartition(topic, p) for p in range(settings.partitions)]
        return sum(consumer.end_offsets(tps).values())
    finally:
        consumer.close()


def wait(predicate: Any, *, timeout: float, what: str, proc: Proc | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and not proc.alive():
            raise AssertionError(f"{what}: the worker exited\n{proc.tail()}")
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout}s" + (f"\n{proc.tail()}" if proc else ""))


def kill_with_work_uncommitted(
    proc: Proc, client: redis_sync.Redis, lag: Lag, *, total: int, context: str
) -> tuple[int, int]:
    """``kill -9`` the worker at a moment it has processed messages it has not committed, so
    that the group must redeliver them to the next worker. The worker is frozen (SIGSTOP)
    while its Redis count and the group's committed offsets are compared, so no commit can
    land between the check and the kill; if it holds nothing uncommitted (it was idle and
    caught up) it is thawed and checked again. Answers (processed, committed) at the kill."""
    assert proc.popen is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        os.kill(proc.popen.pid, signal.SIGSTOP)
        try:
            time.sleep(0.3)  # requests already sent (a commit, a Redis write) settle meanwhile
            at, committed = processed(client), lag.committed()
            assert at < total, f"the worker finished before the kill {context}"
            if at > committed:
                proc.kill9()
                return at, committed
        finally:
            if proc.alive():  # thawed whenever it was not killed, a failed check included
                os.kill(proc.popen.pid, signal.SIGCONT)
        time.sleep(random.uniform(0.05, 0.5))
    raise AssertionError(f"the worker never held uncommitted messages for a minute {context}")


def test_kill_9_mid_stream_loses_nothing_and_counts_nothing_twice(
    services: dict[str, str],
    logs_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    seed = random.randrange(1 << 30)
    plan = Plan(seed)
    settings = isolated_settings(
        services,
        kind="kill",
        redis_url=claim_redis_db(services, uuid.uuid4().hex[:8]),
        state_dir=tmp_path,
    )
    client = redis_sync.Redis.from_url(settings.redis_url)
    # Child processes inherit these (faust reads them): a dead member leaves the group fast.
    monkeypatch.setenv("BROKER_SESSION_TIMEOUT", "8")
    monkeypatch.setenv("BROKER_HEARTBEAT_INTERVAL", "1")
    context = (
        f"(seed {seed}, app {settings.app_id}, {settings.redis_url}, "
        f"logs {logs_dir}/worker-kill*.log)"
    )

    first: Proc | None = None
    second: Proc | None = None
    passed = False
    try:
        first = start_worker(settings, logs_dir, name="worker-kill")
        errors: list[BaseException] = []

        def send() -> None:
            try:
                produce(settings, plan)
            except BaseException as exc:
                errors.append(exc)

        producer = threading.Thread(target=send, name="departments", daemon=True)
        producer.start()
        wait(
            lambda: processed(client) > KILL_AT * plan.total,
            timeout=90,
            what=f"first worker processes {KILL_AT:.0%} of {plan.total} {context}",
            proc=first,
        )
        lag = Lag(settings)
        try:
            at_kill, committed_at_kill = kill_with_work_uncommitted(
                first, client, lag, total=plan.total, context=context
            )
        finally:
            lag.close()

        producer.join(timeout=60)
        assert not producer.is_alive(), "producing took more than a minute"
        assert not errors, errors

        second = start_worker(settings, logs_dir, name="worker-kill-restart")
        wait(
            lambda: processed(client) >= plan.total,
            timeout=120,
            what=f"new worker processes all {plan.total} messages {context}",
            proc=second,
        )
        lag = Lag(settings)
        try:
            wait(
                lambda: lag() == 0,
                timeout=30,
                what=f"consumer group commits every input offset (lag {lag.last}) {context}",
                proc=second,
            )
        finally:
            lag.close()
        last = [processed(client), time.monotonic()]

        def settled() -> bool:
            now = processed(client)
            if now != last[0]:
                last[:] = [now, time.monotonic()]
            return time.monotonic() - last[1] > 2.0

        wait(settled, timeout=30, what=f"processed stops growing {context}", proc=second)

        # -- nothing lost, nothing counted twice ----------------------------------------
        refs = [EntityRef("ent", u) for u in plan.usccs]
        with client.pipeline(transaction=False) as pipe:
            for ref in refs:
                pipe.hget(doc_key(ref), "doc")
                pipe.scard(seen_key(ref))
            replies = pipe.execute()
        wrong: list[str] = []
        for i, uscc in enumerate(plan.usccs):
            doc, seen = replies[2 * i], replies[2 * i + 1]
            want = plan.expected[uscc]
            if doc is None:
                wrong.append(f"{uscc}: no profile")
                continue
            profile = EnterpriseProfile.model_validate_json(doc)
            got = {
                "counts": dict(profile.event_counts),
                "contact_failures": len(profile.contact_failures),
                "failure ids": Counter(t.event_id for t in profile.contact_failures),
                "seen": seen,
            }
            expected = {
                "counts": dict(want),
                "contact_failures": want["contact.failed"],
                # an id appears twice only when two sources used it (same id, other source)
                "failure ids": plan.failures[uscc],
                "seen": plan.distinct[uscc],
            }
            if got != expected:
                diff: dict[str, Any] = {
                    k: (got[k], expected[k]) for k in got if got[k] != expected[k]
                }
                if "failure ids" in diff:
                    extra, missing = got["failure ids"], plan.failures[uscc]
                    diff["failure ids"] = {"extra": extra - missing, "missing": missing - extra}
                wrong.append(f"{uscc}: (got, expected) {diff}")
        assert not wrong, (
            f"{len(wrong)} of {len(refs)} profiles are wrong {context}:\n" + "\n".join(wrong[:20])
        )
        profile_keys = {k for k in client.scan_iter(match="rw:{ent:*}:v1", count=1000)}
        assert profile_keys == {doc_key(r).encode() for r in refs}
        assert topic_size(settings, settings.topic_dlq) == 0  # nothing was dead-lettered

        # -- the replay after the kill was recognised, not re-applied -------------------
        final = processed(client)
        # Every message the first worker processed but did not commit came again.
        uncommitted = at_kill - committed_at_kill
        assert final - plan.total >= uncommitted > 0, (
            f"processed {final} of {plan.total} messages: fewer than the {uncommitted} the "
            f"killed worker had not committed were redelivered {context}"
        )
        assert sum(plan.distinct.values()) == plan.total - plan.resent
        print(
            f"{plan.total} messages, {sum(plan.distinct.values())} distinct events; "
            f"killed at {at_kill} processed ({committed_at_kill} committed), "
            f"{final - plan.total} replayed after the kill; "
            f"{time.monotonic() - started:.1f}s"
        )
        passed = True
    finally:
        for proc in (first, second):
            if proc is not None:
                proc.stop()
        # Free the database for the next run; after a failure, keep its data to look at.
        if passed:
            client.flushdb()
        else:
            client.delete(LOCK)
        client.close()
