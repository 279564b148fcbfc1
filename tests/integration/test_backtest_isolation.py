"""``riskwire backtest`` over the input topics' history, on a real Kafka and Redis: it reads
the live rule overrides and the topics, and writes nothing anywhere: no Redis key changes,
no topic (input or output) gains a message, no consumer group appears.

A tiny simulated population is produced to topics of its own, a live override is stored,
and the command runs as a child process, as an operator would run it.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis as redis_sync
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient

from core.redis_client import sync_client
from core.settings import Settings
from rules.config import RulesConfig
from rules.live import RULES_KEY, Overrides, effective
from simulate import Simulation, scale_named
from simulate.command import person_keyer
from simulate.writer import KafkaSink
from streams.kafka import all_topics

from .conftest import child_env, claim_redis_db, isolated_settings

pytestmark = [pytest.mark.kafka, pytest.mark.redis]

DBS = (9, 8, 7, 6, 5, 4, 3, 2, 1)  # 15 the session's, 14 the benchmark's, 13-10 others'
MARKER = "rw:test:backtest"
LOCK = "rw:test:backtest:lock"
OVERRIDE = {"litigation_surge": {"min_cases": 4}}  # the live rules differ from the file
SUMMARY_KEYS = ("alerts_added", "alerts_removed", "grades_changed", "events", "seconds")


def redis_snapshot(client: redis_sync.Redis) -> dict[bytes, Any]:
    return {key: client.dump(key) for key in client.scan_iter(count=1_000)}


def end_offsets(settings: Settings) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in all_topics(settings)
            for p in consumer.partitions_for_topic(topic) or ()
        ]
        return dict(consumer.end_offsets(partitions))
    finally:
        consumer.close()


def consumer_groups(settings: Settings) -> set[str]:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        # kafka-python 3: a list of group dicts (earlier: (name, protocol) tuples)
        return {g["group_id"] if isinstance(g, dict) else g[0] for g in admin.list_groups()}
    finally:
        admin.close()


def test_a_backtest_of_the_topics_reads_the_live_rules_and_writes_nothing(
    services: dict[str, str], tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    url = claim_redis_db(services, run, marker=MARKER, lock=LOCK, dbs=DBS)
    settings = isolated_settings(services, kind="backtest", redis_url=url)
    client = sync_client(url)
    client.hset(RULES_KEY, mapping={"doc": orjson.dumps({"rules": OVERRIDE}), "ver": 1})
    sim = Simulation(scale_named("tiny"), seed=5, keyer=person_keyer(settings))
    sink = KafkaSink(settings)
    for event in sim.events():
        sink.write(event)
    sink.close()
    candidate = tmp_path / "candidate.toml"
    candidate.write_text("[rules.tax_arrears]\nmin_arrears_cny = 50000\n", encoding="utf-8")

    keys, offsets, groups = redis_snapshot(client), end_offsets(settings), consumer_groups(settings)
    assert sum(offsets.values()) == sim.truth.events
    done = subprocess.run(
        [sys.executable, "-m", "cli", "backtest", "--candidate", str(candidate), "--json"],
        env=child_env(settings),
        capture_output=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    document, last = done.stdout.decode().rstrip("\n").split("\n")
    report = orjson.loads(document)

    assert [part.split("=")[0] for part in last.split(" ")] == list(SUMMARY_KEYS)
    assert report["events"] == sim.truth.events
    live = effective(RulesConfig(), Overrides(1, OVERRIDE))
    assert report["live"]["version"] == live.version != RulesConfig().version
    assert "overrides v1" in report["live"]["source"]
    assert report["alerts_added"] > 0  # the candidate's arrears threshold is far lower
    # Nothing written: every key as it was, no topic longer, no consumer group made.
    assert redis_snapshot(client) == keys
    assert end_offsets(settings) == offsets
    assert consumer_groups(settings) == groups
    client.close()
