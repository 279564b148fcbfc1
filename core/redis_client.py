"""The one place a Redis client is built: a single Redis, or a Redis Cluster.

``RISKWIRE_REDIS_URL`` names either a single server (``redis://``, ``rediss://``,
``unix://``) or a cluster, by any of its nodes::

    redis+cluster://127.0.0.1:7000,127.0.0.1:7001     (rediss+cluster:// for TLS)

A cluster URL gives redis-py's ``RedisCluster`` (asyncio, or the synchronous one for tools
and tests). The stores take it as a ``Redis``: they only send commands the two clients
share, every script and transaction keeps its keys in one hash slot (ARCHITECTURE.md,
"Redis keys"), and their pipelines are not transactional, so a cluster pipeline splits
them per node.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import redis as redis_sync
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster

from core.errors import ConfigError
from core.redis_packing import pack_with_hiredis
from core.redis_timing import TimedRedis, observe

CLUSTER_SCHEMES = {"redis+cluster": False, "rediss+cluster": True}


def is_cluster_url(url: str) -> bool:
    return url.split("://", 1)[0] in CLUSTER_SCHEMES


@dataclass(frozen=True)
class ClusterAddress:
    """A cluster URL taken apart: its nodes, and the credentials and TLS for all of them."""

    nodes: tuple[tuple[str, int], ...]
    ssl: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str) -> ClusterAddress:
        """The nodes, TLS and credentials of a ``redis+cluster://`` URL.

        >>> ClusterAddress.parse("redis+cluster://127.0.0.1:7000,127.0.0.1:7001").nodes
        (('127.0.0.1', 7000), ('127.0.0.1', 7001))
        """
        scheme, _, rest = url.partition("://")
        if scheme not in CLUSTER_SCHEMES:
            raise ConfigError(f"not a Redis Cluster URL: {scheme}://…")
        parts = urlsplit(f"//{rest}")
        hosts = parts.netloc.rsplit("@", 1)[-1]
        nodes: list[tuple[str, int]] = []
        for hostport in filter(None, hosts.split(",")):
            host, _, port = hostport.rpartition(":")
            if not host or not port.isdigit():
                raise ConfigError(f"a cluster node must be host:port, got {hostport!r}")
            nodes.append((host.strip("[]"), int(port)))
        if not nodes:
            raise ConfigError("a Redis Cluster URL names no node")
        if parts.path.strip("/") not in ("", "0"):
            raise ConfigError("a Redis Cluster has only database 0")
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        return cls(tuple(nodes), CLUSTER_SCHEMES[scheme], user, password)


class TimedRedisCluster(RedisCluster):
    """A cluster client that times its commands as :class:`TimedRedis` does (pipelines
    are timed per node by redis-py's own spans only)."""

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        if self._initialize:
            # Every concurrent first command waits for one discovery of the cluster.
            # Left to redis-py 8.1, forty concurrent first commands broke connections
            # mid-reply, and its retry then ran a script twice (an audit entry twice).
            await self.initialize()
        started = time.perf_counter()
        try:
            return await super().execute_command(*args, **kwargs)
        finally:
            observe(args, started)


def _cluster(url: str) -> RedisCluster:
    address = ClusterAddress.parse(url)
    return TimedRedisCluster(
        startup_nodes=[ClusterNode(h, p) for h, p in address.nodes],
        ssl=address.ssl,
        username=address.username,
        password=address.password,
        decode_responses=False,
        health_check_interval=30,
        socket_keepalive=True,
        socket_timeout=None,
        socket_connect_timeout=5,
    )


def redis_client(url: str) -> Redis:
    """The asyncio client every riskwire process uses.

    No per-reply socket timeout: redis-py arms an asyncio timer for every reply when one is
    set, which cost about a third of the client's CPU per command on the worker's hot path.
    A dead peer is still found by TCP keepalive and the periodic health check, and a
    connection attempt still times out. A single server's commands are packed by hiredis
    (:mod:`core.redis_packing`); every command is timed (:mod:`core.redis_timing`)."""
    if is_cluster_url(url):
        # the same command API; typed as Redis so every store keeps one code path
        return cast(Redis, _cluster(url))
    redis = TimedRedis.from_url(
        url,
        decode_responses=False,
        health_check_interval=30,
        socket_keepalive=True,
        socket_timeout=None,
        socket_connect_timeout=5,
    )
    return pack_with_hiredis(redis)


def sync_client(url: str, **options: Any) -> redis_sync.Redis:
    """A synchronous client (tools, benchmarks, tests) for a single server or a cluster."""
    if not is_cluster_url(url):
        return redis_sync.Redis.from_url(url, **options)
    address = ClusterAddress.parse(url)
    client = redis_sync.RedisCluster(
        startup_nodes=[
            redis_sync.cluster.ClusterNode(h, p)  # type: ignore[no-untyped-call]
            for h, p in address.nodes
        ],
        ssl=address.ssl,
        username=address.username,
        password=address.password,
        **options,
    )
    return cast(redis_sync.Redis, client)
