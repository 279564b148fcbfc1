"""riskwire on a replicated Kafka: three KRaft nodes started by ``deploy/kafka-cluster.sh``,
topics with replication 3 and ``min.insync.replicas`` 2, and a broker killed with
``kill -9`` while a worker consumes a feed and publishes what it derives.

Every acknowledged write survives the loss of one node (acks=all with two replicas in
sync), the group moves to the new partition leaders, and every profile ends up counting
each distinct event exactly once.
"""

from __future__ import annotations

import gc
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from core.redis_client import sync_client
from core.settings import Settings

from .api_kit import eventually
from .conftest import Proc, isolated_settings, start_worker
from .exactly_once_kit import (
    LOCK,
    Plan,
    assert_profiles_exact,
    claim_redis_db,
    feed_until_the_fault,
    processed,
    topic_size,
    wait,
)
from .kafka_cluster_kit import Cluster, running_cluster

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.redis,
    # kafka-python leaves the socket of a connection refused by the killed node for the
    # garbage collector; it is collected here (below), not in whichever test runs next.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

KILLED = 2  # the node killed mid-feed


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from running_cluster(tmp_path_factory)


def leaders(admin: KafkaAdminClient, topics: list[str]) -> dict[tuple[str, int], int]:
    return {
        (t["name"], p["partition_index"]): p["leader_id"]
        for t in admin.describe_topics(topics)
        for p in t["partitions"]
    }


def test_topics_are_created_with_the_configured_replication(
    services: dict[str, str], cluster: Cluster
) -> None:
    settings = isolated_settings(
        {**services, "kafka": cluster("bootstrap")},
        kind="replicas",
        kafka_replication_factor=3,
        kafka_min_insync_replicas=2,
    )
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    names = [*settings.input_topics, settings.topic_grades, settings.topic_audit_anchor]

    def described() -> list[dict[str, Any]]:
        # A topic just created may not yet be in the answering broker's metadata.
        topics = admin.describe_topics(names)
        return topics if all(t["partitions"] for t in topics) else []

    try:
        for topic in eventually(described, timeout=60, what="the new topics' metadata"):
            assert {len(p["replica_nodes"]) for p in topic["partitions"]} == {3}, topic["name"]
        configs = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, settings.topic_tax)]
        )
        assert configs["topic"][settings.topic_tax]["min.insync.replicas"]["value"] == "2"
    finally:
        admin.close()


def test_a_broker_killed_mid_feed_loses_nothing_and_applies_nothing_twice(
    services: dict[str, str],
    cluster: Cluster,
    logs_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    seed = random.randrange(1 << 30)
    plan = Plan(seed, enterprises=300, body_events=9_000)
    settings: Settings = isolated_settings(
        {**services, "kafka": cluster("bootstrap")},
        kind="broker",
        redis_url=claim_redis_db(services, uuid.uuid4().hex[:8]),
        state_dir=tmp_path,
        kafka_replication_factor=3,
        kafka_min_insync_replicas=2,
    )
    client = sync_client(settings.redis_url)
    monkeypatch.setenv("BROKER_SESSION_TIMEOUT", "8")
    monkeypatch.setenv("BROKER_HEARTBEAT_INTERVAL", "1")
    context = f"(seed {seed}, app {settings.app_id}, {settings.redis_url})"
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    worker: Proc | None = None
    passed = False
    try:
        worker = start_worker(settings, logs_dir, name="worker-broker-kill")
        departments = feed_until_the_fault(settings, plan, client, worker, context=context)
        before = leaders(admin, list(settings.input_topics))
        at_kill = processed(client)
        cluster("kill", str(KILLED))
        assert at_kill < plan.total, f"the feed was done before the broker died {context}"
        # the node led input partitions the worker was reading: their leaders must move
        assert KILLED in before.values(), f"node {KILLED} led no input partition {context}"

        departments.finish(timeout=180)
        wait(
            lambda: processed(client) >= plan.total,
            timeout=180,
            what=f"the worker processes all {plan.total} messages with a node down {context}",
            proc=worker,
        )
        after = leaders(admin, list(settings.input_topics))
        assert KILLED not in after.values(), f"a partition is still led by the dead node {context}"
        assert_profiles_exact(client, plan, context)
        assert topic_size(settings, settings.topic_dlq) == 0
        cluster("start", str(KILLED))  # it rejoins and catches up; the cluster is whole again
        print(
            f"{plan.total} messages; node {KILLED} killed at "
            f"{at_kill} processed; {processed(client)} processed in all"
        )
        passed = True
    finally:
        admin.close()
        gc.collect()
        if worker is not None:
            worker.stop()
        if passed:
            client.flushdb()
        else:
            client.delete(LOCK)
        client.close()
