"""Promoting a shadow version is atomic across worker processes: two workers share the
input partitions while a feed runs, and the promotion lands between its events. Each
event (a failed contact that, under the candidate, fires two rules at once) is evaluated
under one version or the other, never a mix: an enterprise has both alerts or neither.
Within a partition the switch happens once (no alert, then always both), every event
produced after both workers applied the new version has both, and every event the shadow
had already seen before the promotion has neither."""

from __future__ import annotations

import random
import re
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import redis as redis_sync

from alerts.store import OPEN_KEY
from core.settings import Settings
from processors.heartbeat import WORKERS_KEY
from processors.profiles.codec import decode
from rules.examples import Kit
from simulate.factory import EventFactory
from streams.kafka import department_producer, input_topic

from ..unit.example_kit import example_kit
from .api_kit import Accounts, Who, client, eventually, log_size, wait_for_rules
from .conftest import Proc, start_worker
from .feed_kit import profile_key, wait_for_profiles
from .test_api_shadow import wait_for_shadow

pytestmark = [pytest.mark.redis, pytest.mark.kafka, pytest.mark.e2e]

FIRMS = 36
CANDIDATE = "[rules.unreachable_contact]\nmin_failures = 1\n"  # multi_department: default 2
RULES = ("unreachable_contact", "multi_department_attention")
_APPLIED = re.compile(rb"rule overrides applied.*?version\W+(\d+)")


@pytest.fixture(scope="module")
def second_worker(settings: Settings, logs_dir: Any, worker: Proc) -> Iterator[Proc]:
    proc = start_worker(settings, logs_dir, name="worker-shadow-b")
    yield proc
    proc.stop()


def _two_workers_assigned(settings: Settings) -> bool:
    client = redis_sync.Redis.from_url(settings.redis_url)
    now = time.time()
    beats = [orjson.loads(v) for v in client.hgetall(WORKERS_KEY).values()]
    client.close()
    return sum(1 for b in beats if now - b["at"] < 15 and b["assigned"] > 0) >= 2


def _applied_at(proc: Proc, version: int, since: int) -> bool:
    with proc.log.open("rb") as log:
        log.seek(since)
        return any(int(v) >= version for v in _APPLIED.findall(log.read()))


class Feed:
    """Produces, firm by firm, a tax inspection then a samr failed contact (one partition
    of enforcement.uploads per firm, in order), remembering where each contact landed."""

    def __init__(self, settings: Settings, kit: Kit, firms: list[str]) -> None:
        self.settings, self.kit, self.firms = settings, kit, firms
        self.where: dict[str, tuple[int, int, float]] = {}  # partition, offset, sent at
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        producer = department_producer(self.settings)
        for uscc in self.firms:
            for raw in (
                self.kit.f.inspection(uscc, department="tax", time=self.kit.day(0)),
                self.kit.contact_failed(uscc, "samr", day=1),
            ):
                topic = input_topic(self.settings, raw["type"])
                sent = producer.send(topic, key=uscc.encode(), value=orjson.dumps(raw))
                meta = sent.get(timeout=30)
            self.where[uscc] = (meta.partition, meta.offset, time.monotonic())
            time.sleep(0.25)
        producer.close()


def _alerts(settings: Settings, firms: list[str]) -> dict[str, set[str]]:
    client = redis_sync.Redis.from_url(settings.redis_url)
    out: dict[str, set[str]] = {}
    for uscc in firms:
        out[uscc] = {r for r in RULES if client.hexists(OPEN_KEY, f"{r}:enterprise:{uscc}")}
    client.close()
    return out


def test_promotion_is_atomic_across_two_workers(
    settings: Settings, api_server: str, worker: Proc, second_worker: Proc
) -> None:
    eventually(lambda: _two_workers_assigned(settings), timeout=120, what="two workers assigned")
    admin: Who = Accounts(settings, api_server).oversight
    workers = (worker, second_worker)
    kit = example_kit(seed=random.randrange(1 << 30))
    kit.f = EventFactory(source=f"promote-{uuid.uuid4().hex[:8]}", seed=7, start=kit.start)
    firms = [kit.f.uscc() for _ in range(FIRMS)]
    with client(api_server, admin) as c:
        c.delete("/api/v1/rules/shadow")
        since = [log_size(w) for w in workers]
        live = c.put(
            "/api/v1/rules/multi_department_attention", json={"thresholds": {"min_departments": 3}}
        ).json()["config_version"]
        for w, s in zip(workers, since, strict=True):
            wait_for_rules(w, live, since=s)
        since = [log_size(w) for w in workers]
        loaded = c.put(
            "/api/v1/rules/shadow", content=CANDIDATE, headers={"Content-Type": "text/plain"}
        ).json()
    for w, s in zip(workers, since, strict=True):
        wait_for_shadow(w, loaded["generation"], since=s)
    producer = department_producer(settings)
    for uscc in firms:
        raw = kit.registered(uscc, day=-400)
        producer.send(
            input_topic(settings, raw["type"]), key=uscc.encode(), value=orjson.dumps(raw)
        )
    producer.flush()
    producer.close()
    assert wait_for_profiles(settings, firms, timeout=90) == []

    feed = Feed(settings, kit, firms)
    feed.thread.start()
    eventually(lambda: len(feed.where) >= FIRMS // 3, timeout=60, what="a third of the feed")
    with client(api_server, admin) as c:
        seen = c.get(
            "/api/v1/rules/shadow/diff", params={"rule_id": "unreachable_contact", "limit": 100}
        ).json()
        shadow_saw = {e["subject"]["id"] for e in seen["examples"]}
        since = [log_size(w) for w in workers]
        done = c.post("/api/v1/rules/shadow/promote", json={"generation": loaded["generation"]})
        assert done.status_code == 200, done.text
        promoted = done.json()["config_version"]
    assert promoted == live + 1
    for w, s in zip(workers, since, strict=True):
        eventually(
            lambda w=w, s=s: _applied_at(w, promoted, s), timeout=60, what="promotion applied"
        )
    both_switched = time.monotonic()
    feed.thread.join(timeout=120)
    assert len(feed.where) == FIRMS

    def all_evaluated() -> bool:
        client_ = redis_sync.Redis.from_url(settings.redis_url)
        docs = [decode(client_.hget(profile_key(u), "doc") or b"{}") for u in firms]
        client_.close()
        return all(b'"contact_failures":[{' in d for d in docs)

    eventually(all_evaluated, timeout=120, what="every failed contact applied")
    time.sleep(3)  # the alerts are written right after the profiles, in the same batch
    alerts = _alerts(settings, firms)
    try:
        mixed = {u: a for u, a in alerts.items() if len(a) == 1}
        assert not mixed, f"an event evaluated under a mix of versions: {mixed}"
        fired = {u for u, a in alerts.items() if a}
        assert not (fired & shadow_saw), "the shadow had seen these under the old version"
        late = {u for u, (_, _, at) in feed.where.items() if at > both_switched}
        assert late <= fired, "produced after both workers switched, evaluated under the old"
        assert late, "the feed must outlast the switch"
        assert shadow_saw, "the shadow must have seen events before the promotion"
        by_partition: dict[int, list[tuple[int, bool]]] = {}
        for uscc, (partition, offset, _) in feed.where.items():
            by_partition.setdefault(partition, []).append((offset, uscc in fired))
        for partition, runs in by_partition.items():
            flags = [f for _, f in sorted(runs)]
            assert flags == sorted(flags), f"partition {partition} switched more than once"
    finally:
        with client(api_server, admin) as c:
            for rule_id in RULES:
                c.put(f"/api/v1/rules/{rule_id}", json={"thresholds": {}})
