"""A batch's Redis writes on a replica before its Kafka offsets are committed (``WAIT``).

Redis replicates asynchronously: a master answers a write, then sends it to its replicas.
If the master dies (``kill -9``, a lost machine) between the two, the replica promoted in
its place never had the write; had the worker committed that batch's offsets, its events
would never be applied. So after a batch's writes, and before the batch is acked, the
worker calls :class:`ReplicaWait`: on every master it writes a fence (``INCR``) and sends
``WAIT <replicas> <timeout>`` on the same connection. ``WAIT`` answers once the master's
replicas have acknowledged every write up to the fence, so every earlier write of the
batch on that master too, whichever connection sent it. Fewer replicas within the timeout
raise :class:`~core.errors.StoreError`: the batch is not acked, and is retried (its applied
events are deduplicated) until it is replicated, after a failover on the promoted master.

    rw:{fence:<n>}:v1   string  a counter per master; <n> picks a slot the master owns

``RISKWIRE_REDIS_WAIT_REPLICAS`` (default: 1 with a cluster URL, 0 with a single Redis,
which then skips this) and ``RISKWIRE_REDIS_WAIT_TIMEOUT_MS``. deploy/README.md gives the
cost measured by ``make bench``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.crc import key_slot
from redis.exceptions import RedisError

from core.errors import StoreError
from core.redis_timing import observe

SINGLE_FENCE_KEY = "rw:{fence:0}:v1"


@dataclass
class _Master:
    name: str
    key: str
    connection: AbstractConnection


def fence_keys(owners: dict[int, str]) -> dict[str, str]:
    """A fence key for every master of ``owners`` (slot -> master name), in a slot it owns.

    >>> fence_keys({key_slot(b"rw:{fence:0}:v1"): "a"})
    {'a': 'rw:{fence:0}:v1'}
    """
    wanted = set(owners.values())
    out: dict[str, str] = {}
    for n in itertools.count():
        key = f"rw:{{fence:{n}}}:v1"
        name = owners.get(key_slot(key.encode()))
        if name is not None and name not in out:
            out[name] = key
            if len(out) == len(wanted):
                return out
        if n > 1_000_000:
            raise StoreError(f"no fence key found for masters {sorted(wanted - set(out))}")
    raise AssertionError("unreachable")


class ReplicaWait:
    """``await wait()``: every master's writes so far are on ``replicas`` replicas."""

    def __init__(self, redis: Redis, *, replicas: int, timeout_ms: int) -> None:
        self._redis = redis
        client: object = redis  # typed as Redis (core.redis_client), maybe a cluster
        self._cluster: Any = client if isinstance(client, RedisCluster) else None
        self.replicas = replicas
        self.timeout_ms = timeout_ms
        self._masters: list[_Master] = []
        self._lock = asyncio.Lock()

    async def __call__(self) -> None:
        if self.replicas <= 0:
            return
        async with self._lock:
            if not self._masters:
                self._masters = await self._discover()
            started = time.perf_counter()
            acked = await asyncio.gather(
                *(self._fence(m) for m in self._masters), return_exceptions=True
            )
            observe(("WAIT",), started)
            short = {m.name: a for m, a in zip(self._masters, acked, strict=True) if a != "ok"}
            if short:
                await self._forget()
                raise StoreError(f"writes not on {self.replicas} replica(s): {short}")

    async def _fence(self, master: _Master) -> str:
        conn = master.connection
        try:
            await conn.send_packed_command(
                conn.pack_commands([("INCR", master.key), ("WAIT", self.replicas, self.timeout_ms)])
            )
            await conn.read_response()
            acked = int(await conn.read_response())
        except (RedisError, OSError) as exc:
            return f"error: {exc}"
        return "ok" if acked >= self.replicas else f"{acked} replica(s) within {self.timeout_ms} ms"

    async def _discover(self) -> list[_Master]:
        cluster = self._cluster
        if cluster is None:
            pool = self._redis.connection_pool
            conn = pool.connection_class(**pool.connection_kwargs)
            return [_Master("redis", SINGLE_FENCE_KEY, conn)]
        await cluster.initialize()
        manager = cluster.nodes_manager
        owners = {slot: nodes[0].name for slot, nodes in manager.slots_cache.items()}
        keys = fence_keys(owners)
        masters = []
        for node in cluster.get_primaries():
            conn = node.connection_class(**node.connection_kwargs)
            masters.append(_Master(node.name, keys[node.name], conn))
        return masters

    async def aclose(self) -> None:
        """Close the fence connections (a later call opens them again)."""
        for m in self._masters:
            await m.connection.disconnect()
        self._masters = []

    async def _forget(self) -> None:
        """Drop the connections and the topology: the next call finds the masters again
        (after a failover, the promoted replica)."""
        await self.aclose()
        if self._cluster is not None:
            with contextlib.suppress(RedisError):  # still electing: the next call tries again
                await self._cluster.nodes_manager.initialize()
