"""Legal interleavings of one event stream: what Kafka may hand a consumer group.

Kafka keeps order only within a partition. A department keys each event by its subject,
so every (topic, key) stays in order, but across topics, partitions and workers any merge
that keeps each partition's order is one a deployment may see. :func:`partitioned` lays a
stream out as a department producer would; :func:`assign` deals the partitions to workers
and :func:`batches` merges one worker's partitions into batches, both seeded, so a run
that finds an order-dependent verdict can be repeated from its seed.

>>> import random
>>> events = [{"type": "tax.paid", "subject": s, "id": str(i)} for i, s in enumerate("abab")]
>>> parts = partitioned(events, {"tax.paid": "tax.events"}, partitions=2)
>>> merged = [m for b in batches(parts, list(parts), random.Random(1), max_batch=3) for m in b]
>>> [m.offset for m in merged if m.key == b"a"], len(merged)  # "a" and "b" share partition 0
([0, 2], 4)
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

Partition = tuple[str, int]  # (topic, partition)


@dataclass(frozen=True, slots=True)
class Message:
    """One event as a partition holds it."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes


def partition_of(key: bytes, partitions: int) -> int:
    """A stable partition for a key (a department's partitioner hashes the key likewise)."""
    return zlib.crc32(key) % partitions


def partitioned(
    events: Iterable[Mapping[str, Any]],
    topic_of: Mapping[str, str],
    *,
    partitions: int,
    across_topics: bool = False,
) -> dict[Partition, list[Message]]:
    """Each event on its type's topic, in the partition of its subject, in stream order.
    With ``across_topics``, partition ``n`` of every topic is one queue (``("*", n)``): each
    subject's events then stay in order across topics too, as they were produced."""
    out: dict[Partition, list[Message]] = {}
    for event in events:
        topic, key = topic_of[event["type"]], str(event["subject"]).encode()
        part = ("*" if across_topics else topic, partition_of(key, partitions))
        queue = out.setdefault(part, [])
        queue.append(Message(topic, part[1], len(queue), key, orjson.dumps(event)))
    return out


def assign(parts: Iterable[Partition], workers: int, rng: random.Random) -> list[list[Partition]]:
    """Deal the partitions to ``workers`` at random, as a rebalance may; none is left empty
    when there are at least as many partitions as workers."""
    shuffled = sorted(parts)
    rng.shuffle(shuffled)
    return [sorted(shuffled[w::workers]) for w in range(workers)]


def batches(
    parts: Mapping[Partition, Sequence[Message]],
    owned: Sequence[Partition],
    rng: random.Random,
    *,
    max_batch: int,
) -> Iterator[list[Message]]:
    """One worker's partitions merged at random into batches of 1 to ``max_batch``
    messages: each step takes a run of the next messages of one partition, picked with a
    weight that is itself random, so one partition may run far ahead of another (an event
    then arrives late relative to other keys' later events). Each partition stays in order."""
    cursor = {p: 0 for p in owned if parts.get(p)}
    speed = {p: rng.choice((0.2, 1.0, 5.0)) for p in cursor}
    while cursor:
        batch: list[Message] = []
        size = rng.randint(1, max_batch)
        while cursor and len(batch) < size:
            live = list(cursor)
            part = rng.choices(live, weights=[speed[p] for p in live])[0]
            start = cursor[part]
            run = min(rng.randint(1, max(1, size // 4)), size - len(batch))
            batch += parts[part][start : start + run]
            cursor[part] = start + run
            if cursor[part] >= len(parts[part]):
                del cursor[part]
        yield batch
