"""Replays of one simulated stream through 1, 2 or 4 workers, each in a seeded legal
interleaving, on the real Redis, and what each replay leaves: the open alerts (rule,
subject, members) and every enterprise's grade letter.

A worker here is a :class:`BatchProcessor` with its own Redis connection in a process of
its own, as in ``riskwire worker``: the workers of one replay run concurrently, so their
reads and compare-and-set writes race on Redis, and a replay with more workers uses more
cores (the medium scale's 350,000 events per replay are CPU-bound). The stream is laid out
once and inherited by the forked workers, not copied. Kafka is left out on purpose: it
cannot be told which legal order to deliver, and the order is what is tested.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.process import BaseProcess
from typing import Any

import orjson
import redis as redis_sync

from alerts.store import DOC_KEY, OPEN_KEY, AlertStore
from core.clock import FakeClock
from core.settings import Settings
from processors.grades import GradeStore
from processors.pipeline import BatchProcessor, DeadLetter, Incoming
from processors.profiles.redis import RedisProfileStore
from processors.runtime import redis_client
from rules.engine import RuleEngine, default_rules
from simulate.interleave import Message, Partition, assign, batches, partitioned
from streams.codec import Decoder
from streams.identifiers import PersonKeyer
from streams.kafka import topic_for
from streams.schemas.common import Family

TOPICS = {
    "registration.changes": Family.REGISTRATION,
    "court.filings": Family.COURT,
    "tax.events": Family.TAX,
    "enforcement.uploads": Family.ENFORCEMENT,
}
PARTITIONS = 8
CLOCK_START = datetime(2027, 1, 1, tzinfo=UTC)
OpenAlert = tuple[str, str, str, tuple[str, ...]]  # rule, subject kind, subject id, members


@dataclass(frozen=True, slots=True)
class Outcome:
    alerts: frozenset[OpenAlert]
    grades: Mapping[str, str]


class _Letters:
    async def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        raise AssertionError(f"dead-lettered: {[str(d.error) for d in letters[:3]]}")


def lay_out(
    events: Sequence[Mapping[str, Any]], *, across_topics: bool = False
) -> dict[Partition, list[Message]]:
    topic_of = {e["type"]: topic_for(e["type"]) for e in events}
    return partitioned(events, topic_of, partitions=PARTITIONS, across_topics=across_topics)


def replay(
    settings: Settings,
    parts: Mapping[Partition, Sequence[Message]],
    *,
    workers: int,
    seed: int,
    max_batch: int = 1000,
) -> None:
    """Process every message once, dealt to ``workers`` concurrent worker processes at
    random."""
    finish(start(settings, parts, workers=workers, seed=seed, max_batch=max_batch))


def start(
    settings: Settings,
    parts: Mapping[Partition, Sequence[Message]],
    *,
    workers: int,
    seed: int,
    max_batch: int = 1000,
) -> list[BaseProcess]:
    """Start a replay's worker processes (:func:`finish` waits for them). A single worker
    runs in a process of its own too: this one keeps no asyncio Redis client that a
    forked worker could inherit."""
    rng = random.Random(seed)
    owned = assign(parts, workers, rng)
    seeds = [rng.randrange(2**32) for _ in range(workers)]
    fork = multiprocessing.get_context("fork")  # the stream is inherited, not pickled
    procs: list[BaseProcess] = [
        fork.Process(target=_run_worker, args=(settings, parts, o, s, max_batch), daemon=True)
        for o, s in zip(owned, seeds, strict=True)
    ]
    for proc in procs:
        proc.start()
    return procs


def finish(procs: Sequence[BaseProcess]) -> None:
    for proc in procs:
        proc.join()
    failed = [p.exitcode for p in procs if p.exitcode != 0]
    assert not failed, f"worker processes failed with exit codes {failed} (see stderr)"


def _run_worker(
    settings: Settings,
    parts: Mapping[Partition, Sequence[Message]],
    owned: Sequence[Partition],
    seed: int,
    max_batch: int,
) -> None:
    asyncio.run(_work(settings, parts, owned, random.Random(seed), max_batch))


async def _work(
    settings: Settings,
    parts: Mapping[Partition, Sequence[Message]],
    owned: Sequence[Partition],
    rng: random.Random,
    max_batch: int,
) -> None:
    redis = redis_client(settings)
    keyer = PersonKeyer(settings.identity_secret.get_secret_value().encode())
    processor = BatchProcessor(
        decoder=Decoder(keyer),
        families=TOPICS,
        store=RedisProfileStore(redis),
        alerts=AlertStore(redis),
        engine=RuleEngine(default_rules()),
        grades=GradeStore(redis),
        dead_letters=_Letters(),
        clock=FakeClock(CLOCK_START),
    )
    try:
        for batch in batches(parts, owned, rng, max_batch=max_batch):
            await processor.process(
                [Incoming(m.topic, m.partition, m.offset, m.key, m.value, 1_000) for m in batch]
            )
            if rng.random() < 0.3:  # let another worker run ahead for a while
                await asyncio.sleep(rng.random() * 0.01)
    finally:
        await redis.aclose()


def outcome(client: redis_sync.Redis, usccs: Sequence[str]) -> Outcome:
    """The open alerts and every enterprise's current grade letter."""
    ids = [v.decode() for v in client.hvals(OPEN_KEY)]
    alerts: set[OpenAlert] = set()
    for start in range(0, len(ids), 1_000):
        for doc in client.hmget(DOC_KEY, ids[start : start + 1_000]):
            a = orjson.loads(doc)
            members = tuple(sorted(a.get("enterprises") or ()))
            alerts.add((a["rule_id"], a["subject"]["kind"], a["subject"]["id"], members))
    grades: dict[str, str] = {}
    pipe = client.pipeline(transaction=False)
    for uscc in usccs:
        pipe.hget(f"rw:{{ent:{uscc}}}:grade:v1", "grade")  # the letter, beside the stored grade
    for uscc, letter in zip(usccs, pipe.execute(), strict=True):
        if letter:
            grades[uscc] = letter.decode()
    return Outcome(frozenset(alerts), grades)


def differences(base: Outcome, other: Outcome, limit: int = 12) -> list[str]:
    """What differs, for the failure message."""
    out = [f"only in the first: {a}" for a in sorted(base.alerts - other.alerts)]
    out += [f"only in this one: {a}" for a in sorted(other.alerts - base.alerts)]
    for uscc in sorted(set(base.grades) | set(other.grades)):
        if base.grades.get(uscc) != other.grades.get(uscc):
            out.append(f"grade of {uscc}: {base.grades.get(uscc)} vs {other.grades.get(uscc)}")
    return out[:limit] + ([f"... {len(out) - limit} more"] if len(out) > limit else [])
