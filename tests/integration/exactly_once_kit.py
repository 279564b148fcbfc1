"""What the exactly-once fault tests share: a plan of department messages whose every
profile count is known in advance (re-sent copies, unkeyed messages and the same id from
another source among them), a Redis database of the test's own, and the check that every
profile counts each distinct event exactly once.

Used by the ``kill -9`` of a worker (``test_exactly_once``) and of a broker
(``test_kafka_cluster``).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import redis as redis_sync
from kafka import KafkaConsumer, TopicPartition

from core.settings import Settings
from processors.profiles.codec import decode
from processors.profiles.redis import doc_key, seen_key
from processors.progress import STATS_KEY
from simulate.factory import EventFactory
from streams.kafka import department_producer, input_topic, produce_events
from streams.profile import STATE_VERSION, EnterpriseProfile
from streams.profile_store import EntityRef

from .conftest import Proc
from .conftest import claim_redis_db as claim_db

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
    """A Redis database for this run alone (:func:`conftest.claim_redis_db`)."""
    return claim_db(services, run, marker=OURS, lock=LOCK, dbs=KILL_REDIS_DBS)


class Plan:
    """The messages to produce, and what every profile must count afterwards."""

    def __init__(
        self, seed: int, *, enterprises: int = ENTERPRISES, body_events: int = BODY_EVENTS
    ) -> None:
        rng = random.Random(seed)
        tag = uuid.uuid4().hex[:6]
        samr = EventFactory(source=f"samr-{tag}", seed=seed)
        tax = EventFactory(source=f"tax-{tag}", seed=seed + 1)
        enforcement = EventFactory(source=f"enforcement-{tag}", seed=seed + 2)
        self.usccs = sorted({samr.uscc() for _ in range(enterprises)})
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
        for _ in range(body_events):
            uscc = rng.choice(self.usccs)
            if rng.random() < 0.5:
                channel = rng.choice(["phone", "address", "mail"])
                data = {"department": "enforcement-bureau", "channel": channel}
                body.append(enforcement.event("contact.failed", uscc, data, time=when()))
            else:
                body.append(tax.tax_paid(uscc, time=when()))
        unkeyed = set(rng.sample(range(body_events), UNKEYED))
        resent_after = {
            i: rng.randrange(i, body_events) for i in rng.sample(range(body_events), RESENT)
        }
        again: dict[int, list[int]] = {}
        for original, at in resent_after.items():
            again.setdefault(at, []).append(original)
        for i, event in enumerate(body):
            add(event, keyed=i not in unkeyed)
            for original in again.get(i, []):
                # A department re-sends an event: same source and id, maybe unkeyed this time.
                add(dict(body[original]), keyed=rng.random() < 0.8, distinct=False)
        for original in rng.sample(range(body_events), SAME_ID_OTHER_SOURCE):
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

    def __call__(self, *, fresh: bool = False) -> int | None:
        """The lag, asked of the broker at most every 0.5 s unless ``fresh``."""
        if fresh or time.monotonic() - self._checked > 0.5:
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


def assert_profiles_exact(client: redis_sync.Redis, plan: Plan, context: str) -> None:
    """Every enterprise of ``plan`` counts each of its distinct events exactly once, and no
    other profile exists: nothing lost, nothing counted twice."""
    refs = [EntityRef("ent", u) for u in plan.usccs]
    with client.pipeline(transaction=False) as pipe:
        for ref in refs:
            pipe.hget(doc_key(ref), "doc")
            pipe.zcard(seen_key(ref))
        replies = pipe.execute()
    wrong: list[str] = []
    for i, uscc in enumerate(plan.usccs):
        doc, seen = replies[2 * i], replies[2 * i + 1]
        want = plan.expected[uscc]
        if doc is None:
            wrong.append(f"{uscc}: no profile")
            continue
        profile = EnterpriseProfile.model_validate_json(decode(doc))
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
            diff: dict[str, Any] = {k: (got[k], expected[k]) for k in got if got[k] != expected[k]}
            if "failure ids" in diff:
                extra, missing = got["failure ids"], plan.failures[uscc]
                diff["failure ids"] = {"extra": extra - missing, "missing": missing - extra}
            wrong.append(f"{uscc}: (got, expected) {diff}")
    assert not wrong, f"{len(wrong)} of {len(refs)} profiles are wrong {context}:\n" + "\n".join(
        wrong[:20]
    )
    profile_keys = {k for k in client.scan_iter(match=f"rw:{{ent:*}}:{STATE_VERSION}", count=1000)}
    assert profile_keys == {doc_key(r).encode() for r in refs}


class Departments:
    """The plan produced on a thread of its own (:func:`produce`), so that a test can inject
    its fault while the messages are still arriving."""

    def __init__(self, settings: Settings, plan: Plan) -> None:
        self.errors: list[BaseException] = []

        def send() -> None:
            try:
                produce(settings, plan)
            except BaseException as exc:
                self.errors.append(exc)

        self._thread = threading.Thread(target=send, name="departments", daemon=True)
        self._thread.start()

    def finish(self, timeout: float) -> None:
        """Wait for the last message; fails if producing took longer or raised."""
        self._thread.join(timeout=timeout)
        assert not self._thread.is_alive(), f"producing took more than {timeout:.0f} s"
        assert not self.errors, self.errors


def feed_until_the_fault(
    settings: Settings,
    plan: Plan,
    client: redis_sync.Redis,
    worker: Proc,
    *,
    context: str,
    timeout: float = 120,
    who: str = "the worker",
) -> Departments:
    """Start producing ``plan`` and wait until ``worker`` has processed :data:`KILL_AT` of
    it, so that the fault the test injects next lands while messages are still arriving."""
    departments = Departments(settings, plan)
    wait(
        lambda: processed(client) > KILL_AT * plan.total,
        timeout=timeout,
        what=f"{who} processes {KILL_AT:.0%} of {plan.total} {context}",
        proc=worker,
    )
    return departments
