"""The shared early-warning model on the real Redis: workers that learn overlapping labels
concurrently teach each label once and converge on one model; a restarted worker resumes
from the checkpoint and does not learn a label twice.

Each test uses its own model name, so it shares the session's Redis database with others.
"""

from __future__ import annotations

import asyncio
import math
import random
import uuid
from collections.abc import AsyncIterator, Sequence

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.errors import StoreError
from core.redis_client import redis_client
from core.settings import Settings
from rules.models.checkpoint import MAX_LABELS_PER_WRITE, ROUND, Label, ModelStore
from rules.models.early_warning import EarlyWarningModel, ModelConfig
from rules.models.features import FEATURE_NAMES

pytestmark = [pytest.mark.redis]


def labels(n: int, seed: int = 1, start: int = 0) -> list[Label]:
    rng = random.Random(seed)
    out = []
    for i in range(start + n):
        x = dict.fromkeys(FEATURE_NAMES, 0.0)
        x["failed_contacts_180d"] = float(rng.randint(0, 3))
        x["log_arrears"] = math.log1p(rng.choice([0.0, 0.0, 2e5]))
        x["age_years"] = rng.uniform(0.0, 10.0)
        violation = rng.random() < 0.1 + 0.25 * x["failed_contacts_180d"]
        if i >= start:
            out.append(Label(f"eid-{i:05d}", x, violation))
    return out


PROBE = dict.fromkeys(FEATURE_NAMES, 0.0) | {"failed_contacts_180d": 3.0, "age_years": 1.0}


@pytest.fixture
async def clients(settings: Settings) -> AsyncIterator[list[Redis]]:
    """Three connections: two workers and one that restarts."""
    conns = [redis_client(settings.redis_url) for _ in range(3)]
    yield conns
    for conn in conns:
        await conn.aclose()


@pytest.fixture
async def name(clients: list[Redis]) -> AsyncIterator[str]:
    model_name = f"test-{uuid.uuid4().hex[:10]}"
    yield model_name
    keys = [k async for k in clients[0].scan_iter(match=f"rw:{{model:{model_name}}}:*")]
    if keys:
        await clients[0].delete(*keys)


async def learn_in_batches(store: ModelStore, todo: Sequence[Label], size: int) -> int:
    learned = 0
    for start in range(0, len(todo), size):
        learned += (await store.learn(todo[start : start + size])).learned
        await asyncio.sleep(0)
    return learned


async def test_two_workers_learn_each_label_once_and_converge(
    clients: list[Redis], name: str
) -> None:
    everything = labels(450)
    a, b = ModelStore(clients[0], name), ModelStore(clients[1], name)
    # Overlapping batches: both see labels 150..299, in different orders and batch sizes.
    learned_a, learned_b = await asyncio.gather(
        learn_in_batches(a, everything[:300], 40),
        learn_in_batches(b, list(reversed(everything[150:])), 25),
    )
    assert learned_a + learned_b == 450
    assert await clients[0].scard(b.learned_key) == 450
    (model_a, version_a), (model_b, version_b) = await a.load(), await b.load()
    assert version_a == version_b > 0
    assert model_a.n_learned == model_b.n_learned == 450
    assert model_a.score(PROBE) == model_b.score(PROBE)
    assert int(await clients[0].hget(a.key, "n") or 0) == 450


async def test_the_worker_that_loses_the_race_relearns_only_what_is_new(
    clients: list[Redis], name: str
) -> None:
    a, b = ModelStore(clients[0], name), ModelStore(clients[1], name)
    batch = labels(60)
    # Both read version 0 before either writes: one CAS wins, the other re-reads and finds
    # every label already learned.
    ra, rb = await asyncio.gather(a.learn(batch), b.learn(batch[20:] + labels(5, start=60)))
    assert ra.learned + rb.learned == 65
    assert ra.conflicts + rb.conflicts >= 1
    assert (await a.model()).n_learned == (await b.model()).n_learned == 65


async def test_a_restarted_worker_resumes_without_learning_twice(
    clients: list[Redis], name: str
) -> None:
    first = labels(200)
    before = ModelStore(clients[0], name)
    result = await before.learn(first)
    assert (result.learned, result.already) == (200, 0)
    model, version = await before.load()

    after = ModelStore(clients[2], name)  # a new process: nothing cached
    resumed, resumed_version = await after.load()
    assert resumed_version == version
    assert resumed.n_learned == 200
    assert resumed.score(PROBE) == model.score(PROBE)

    again = await after.learn(first + labels(50, start=200))  # a replay, then new labels
    assert (again.learned, again.already) == (50, 200)
    assert again.version == version + 1
    assert (await after.model()).n_learned == 250
    assert (await before.model()).n_learned == 250  # the other worker picks it up


async def test_a_replayed_batch_changes_nothing(clients: list[Redis], name: str) -> None:
    store = ModelStore(clients[0], name)
    batch = labels(30)
    first = await store.learn(batch)
    replay = await store.learn(batch + batch[:5])  # duplicates inside a batch count once
    assert (replay.learned, replay.already, replay.version) == (0, 30, first.version)
    assert (await store.model()).n_learned == 30


async def test_the_model_is_downloaded_only_when_it_moved(clients: list[Redis], name: str) -> None:
    a, b = ModelStore(clients[0], name), ModelStore(clients[1], name)
    await a.learn(labels(10))
    cached = await b.model()
    assert await b.model() is cached  # same version: the cached object, no download
    await a.learn(labels(10, start=10))
    moved = await b.model()
    assert moved is not cached
    assert moved.n_learned == 20
    assert cached.n_learned == 10  # a model being scored is never learned on


async def test_a_large_batch_is_written_in_bounded_chunks(clients: list[Redis], name: str) -> None:
    store = ModelStore(clients[0], name)
    n = 2 * MAX_LABELS_PER_WRITE + 10
    result = await store.learn(labels(n))
    assert (result.learned, result.version) == (n, 3)
    assert (await store.model()).n_learned == n


async def test_another_configuration_is_another_model(clients: list[Redis], name: str) -> None:
    await ModelStore(clients[0], name).learn(labels(10))
    other = ModelStore(clients[0], name, ModelConfig(learning_rate=0.1))
    model, version = await other.load()
    assert (model.n_learned, version) == (0, 0)


async def test_an_unreadable_checkpoint_is_a_store_error(clients: list[Redis], name: str) -> None:
    store = ModelStore(clients[0], name)
    await clients[0].hset(store.key, mapping={"ver": 3, "blob": b"garbage"})
    with pytest.raises(StoreError, match="unreadable"):
        await store.model()


async def test_learning_on_an_empty_store_starts_a_fresh_model(
    clients: list[Redis], name: str
) -> None:
    store = ModelStore(clients[0], name)
    model, version = await store.load()
    assert (version, model.n_learned) == (0, 0)
    assert model.score(PROBE) == EarlyWarningModel().score(PROBE)
    result = await store.learn([])
    assert (result.learned, result.version) == (0, 0)


async def test_scoring_and_learning_in_one_worker_do_not_race(settings: Settings) -> None:
    """Several agents of one worker share a ModelStore: reads while another agent learns
    must never install a version without its model (regression: 'vN has no blob')."""
    redis = redis_client(settings.redis_url)
    store = ModelStore(redis, name=f"race-{uuid.uuid4().hex[:8]}")
    x = dict.fromkeys(FEATURE_NAMES, 0.0)

    async def learner(i: int) -> None:
        await store.learn([(f"e{i}-{j}", x, j % 2 == 0) for j in range(5)])

    async def reader() -> None:
        for _ in range(20):
            await store.model()

    try:
        await asyncio.gather(*[learner(i) for i in range(10)], *[reader() for _ in range(5)])
        model, version = await store.load()
        assert model.n_learned == 50
        assert version >= 1
    finally:
        await redis.aclose()


async def test_a_failed_checkpoint_leaves_no_unsaved_learning_behind(
    clients: list[Redis], name: str
) -> None:
    """The cached model learns in place; when its write fails, what it learned must not
    stay in the model this worker scores with, or be counted when the batch is retried."""
    store = ModelStore(clients[0], name)
    await store.learn(labels(10))

    async def lost_connection(**_: object) -> None:
        raise RedisError("connection lost")

    written = store._cas
    store._cas = lost_connection  # type: ignore[assignment]
    with pytest.raises(StoreError):
        await store.learn(labels(5, start=10))
    store._cas = written  # type: ignore[method-assign]
    assert (await store.model()).n_learned == 10
    retried = await store.learn(labels(5, start=10))
    assert retried.learned == 5
    assert (await store.model()).n_learned == 15


# -- queued labels: offered by batches, learned in rounds --------------------------------


async def test_offered_labels_wait_in_the_queue_until_a_round_learns_them(
    clients: list[Redis], name: str
) -> None:
    store = ModelStore(clients[0], name)
    first = labels(150)
    assert await store.offer(first) is None  # fewer than a round: only queued
    assert await clients[0].llen(store.queue_key) == 150
    assert (await store.model()).n_learned == 0
    result = await store.learn_queued()
    assert (result.learned, result.already) == (150, 0)
    assert await clients[0].llen(store.queue_key) == 0
    assert await clients[0].scard(store.learned_key) == 150
    assert (await store.model()).n_learned == 150
    # A redelivered batch offers its labels again, with new ones: only the new are learned.
    await store.offer(first[:40] + labels(10, start=150) + labels(10, start=150))
    again = await store.learn_queued()
    assert (again.learned, again.already) == (10, 50)
    assert (await store.model()).n_learned == 160
    assert (await store.learn_queued()).learned == 0  # nothing left


async def test_an_offer_that_fills_a_round_learns_it_at_once(
    clients: list[Redis], name: str
) -> None:
    store = ModelStore(clients[0], name)
    assert await store.offer(labels(ROUND - 1)) is None
    result = await store.offer(labels(1, start=ROUND - 1))
    assert result is not None
    assert result.learned == ROUND
    assert (await store.model()).n_learned == ROUND


async def test_a_round_learns_at_most_one_write_of_the_queue(
    clients: list[Redis], name: str
) -> None:
    store = ModelStore(clients[0], name)
    n = MAX_LABELS_PER_WRITE + 120
    result = await store.offer(labels(n))
    assert result is not None
    assert result.learned == MAX_LABELS_PER_WRITE
    assert await clients[0].llen(store.queue_key) == 120
    assert (await store.learn_queued()).learned == 120
    assert (await store.model()).n_learned == n


async def test_labels_queued_before_a_crash_are_learned_after_it(
    clients: list[Redis], name: str
) -> None:
    crashed = ModelStore(clients[0], name)
    await crashed.offer(labels(60))  # the worker dies before any round
    restarted = ModelStore(clients[2], name)
    assert (await restarted.learn_queued()).learned == 60
    assert (await restarted.model()).n_learned == 60


async def test_two_workers_learning_one_queue_learn_each_label_once(
    clients: list[Redis], name: str
) -> None:
    a, b = ModelStore(clients[0], name), ModelStore(clients[1], name)
    everything = labels(900)

    async def worker(store: ModelStore, todo: Sequence[Label], size: int) -> None:
        for start in range(0, len(todo), size):
            await store.offer(todo[start : start + size])  # rounds race the other worker's
            if start % (4 * size) == 0:
                await store.learn_queued()  # the timer's round

    # Overlapping offers (a redelivery after a rebalance looks like this).
    await asyncio.gather(
        worker(a, everything[:600], 45), worker(b, list(reversed(everything[300:])), 35)
    )
    while await clients[0].llen(a.queue_key):
        await a.learn_queued()
    assert await clients[0].scard(a.learned_key) == 900
    model_a, model_b = await a.model(), await b.model()
    assert model_a.n_learned == model_b.n_learned == 900
    assert model_a.score(PROBE) == model_b.score(PROBE)
