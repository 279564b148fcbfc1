"""Which client a ``RISKWIRE_REDIS_URL`` builds, and the cluster URLs refused."""

from __future__ import annotations

import pytest
from redis.asyncio.cluster import RedisCluster

from core.errors import ConfigError
from core.redis_client import ClusterAddress, is_cluster_url, redis_client
from core.redis_timing import TimedRedis
from core.settings import Settings
from processors.runtime import replica_wait


def test_a_cluster_url_names_its_nodes_credentials_and_tls() -> None:
    a = ClusterAddress.parse("rediss+cluster://ops:p%40ss@10.0.0.1:7000,10.0.0.2:7001/0")
    assert a.nodes == (("10.0.0.1", 7000), ("10.0.0.2", 7001))
    assert (a.ssl, a.username, a.password) == (True, "ops", "p@ss")
    assert "p@ss" not in repr(a)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://127.0.0.1:6379/0", "not a Redis Cluster URL"),
        ("redis+cluster://", "names no node"),
        ("redis+cluster://127.0.0.1", "host:port"),
        ("redis+cluster://127.0.0.1:x", "host:port"),
        ("redis+cluster://127.0.0.1:7000/3", "only database 0"),
    ],
)
def test_a_bad_cluster_url_is_refused(url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        ClusterAddress.parse(url)


async def test_the_url_decides_the_client() -> None:
    # (built without connecting; the synchronous cluster client connects at once, so
    # the integration tests build it)
    cluster: object = redis_client("redis+cluster://127.0.0.1:7000,127.0.0.1:7001")
    single: object = redis_client("redis://127.0.0.1:6379/0")
    assert isinstance(cluster, RedisCluster)
    assert isinstance(single, TimedRedis)
    assert is_cluster_url("rediss+cluster://h:1")
    assert not is_cluster_url("rediss://h:1")


@pytest.mark.parametrize(
    ("url", "setting", "replicas"),
    [
        ("redis+cluster://127.0.0.1:7000", None, 1),
        ("redis://127.0.0.1:6379/0", None, 0),
        ("redis+cluster://127.0.0.1:7000", 0, 0),
        ("redis://127.0.0.1:6379/0", 2, 2),
    ],
)
def test_the_worker_waits_for_a_replica_with_a_cluster_unless_told(
    url: str, setting: int | None, replicas: int
) -> None:
    s = Settings(redis_url=url, redis_wait_replicas=setting)
    assert replica_wait(redis_client(url), s).replicas == replicas
