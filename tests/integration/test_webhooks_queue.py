"""One contract for the delivery queue, in memory (what the unit tests use) and in Redis
(what the workers use); then, on Redis only: two schedulers with their own connections
send each delivery once, and a scheduler on a new connection picks up what was left.

Each test has its own queue namespace, so a worker's scheduler running on the same
database (the session ``worker``) never takes its deliveries."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from alerts.notify.base import Delivery, DeliveryState, Outcome, OutcomeKind, Reason
from alerts.notify.deliveries import DeliveryQueue, DeliveryScheduler, Limits, RetryPolicy
from alerts.notify.memory import MemoryDeliveryQueue
from alerts.notify.queue import Attempt, QueuedDelivery, RedisDeliveryQueue, delivery_id
from core.clock import FakeClock, SystemClock
from core.redis_client import redis_client

from ..unit.test_deliveries import (
    Endpoints,
    Subscriptions,
    assert_no_department_starves,
    queued,
)
from ..unit.webhook_receiver import Receiver

pytestmark = [pytest.mark.redis]

T0 = 1_772_352_000_000  # ms
AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


class Queue:
    """The contract's view of a queue: the protocol, plus the delivery log."""

    def __init__(self, impl: MemoryDeliveryQueue | RedisDeliveryQueue) -> None:
        self.impl: DeliveryQueue = impl
        self.log = impl.attempts
        self.forget = impl.forget
        self.dead_letters = impl.dead_letters
        self.replay = impl.replay
        self.purge = impl.purge


async def wipe(client: Redis, namespace: str) -> None:
    keys = [k async for k in client.scan_iter(match=f"rw:{{{namespace}}}:*", count=1000)]
    if keys:
        await client.delete(*keys)


@pytest.fixture
def ns() -> str:
    return f"wh-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(params=["memory", "redis"])
async def q(
    request: pytest.FixtureRequest, services: dict[str, str], ns: str
) -> AsyncIterator[Queue]:
    if request.param == "memory":
        yield Queue(MemoryDeliveryQueue(log_max=5))
        return
    client = redis_client(services["redis"])
    try:
        yield Queue(RedisDeliveryQueue(client, namespace=ns, log_max=5))
    finally:
        await wipe(client, ns)
        await client.aclose()


def attempt(d: QueuedDelivery, n: int, state: DeliveryState) -> Attempt:
    return Attempt(
        delivery_id=d.id,
        alert_id=d.alert_id,
        revision=d.revision,
        change=d.change,
        attempt=n,
        at=AT,
        state=state,
        status_code=503,
        reason=Reason.SERVER_ERROR,
    )


async def claimed(q: Queue, now_ms: int, **kw: object) -> list[QueuedDelivery]:
    """What ``q`` hands out at ``now_ms``: a minute's lease and room for 100 everywhere,
    unless ``kw`` says otherwise."""
    args: dict[str, object] = {
        "lease_ms": 60_000,
        "limit": 100,
        "per_endpoint": 100,
        "in_flight": {},
        "per_department": 100,
        "department_in_flight": {},
    }
    args.update(kw)
    return await q.impl.claim(now_ms=now_ms, **args)  # type: ignore[arg-type]


async def claim(q: Queue, now_ms: int, **kw: object) -> list[str]:
    return [d.id for d in await claimed(q, now_ms, **kw)]


async def test_enqueue_is_idempotent_and_claims_lease(q: Queue) -> None:
    a, b = queued("01EPA", 1), queued("01EPA", 2)
    assert await q.impl.enqueue([a, b], now_ms=T0) == 2
    assert await q.impl.enqueue([a, b], now_ms=T0) == 0
    assert await claim(q, T0 - 1) == []  # not due yet
    assert await claim(q, T0) == [a.id, b.id]
    assert await claim(q, T0 + 59_999) == []  # leased
    assert await claim(q, T0 + 60_000) == [a.id, b.id]  # the lease ran out


async def test_claims_take_the_earliest_first_within_the_limits(q: Queue) -> None:
    await q.impl.enqueue([queued("01EPA", n) for n in range(10)], now_ms=T0)
    await q.impl.enqueue([queued("01EPB", 0)], now_ms=T0 + 5)
    assert len(await claim(q, T0 + 5, limit=3)) == 3
    got = await claim(q, T0 + 5, per_endpoint=2, in_flight={"01EPA": 1})
    assert got == [queued("01EPA", 3).id, queued("01EPB", 0).id]
    # A busy endpoint is skipped without hiding the others.
    await q.impl.enqueue([queued("01EPC", 0)], now_ms=T0 + 6)
    assert await claim(q, T0 + 6, per_endpoint=2, in_flight={"01EPA": 2}) == [queued("01EPC", 0).id]


async def test_claims_give_each_department_its_own_share(q: Queue) -> None:
    crowd = [queued(f"01SAMR{e}", n, "samr") for e in range(8) for n in range(4)]
    await q.impl.enqueue(crowd, now_ms=T0)  # due first
    await q.impl.enqueue([queued("01TAX", 0, "tax")], now_ms=T0 + 1)
    got = await claim(q, T0 + 1, limit=20, per_endpoint=4, per_department=6)
    assert len(got) == 7
    assert queued("01TAX", 0, "tax").id in got  # not crowded out by samr's 32
    # The department's in-flight sends count against its share.
    await q.impl.enqueue([queued("01TAX", 1, "tax")], now_ms=T0 + 2)
    busy = {"samr": 6, "tax": 1}
    assert await claim(q, T0 + 2, per_department=6, department_in_flight=busy) == [
        queued("01TAX", 1, "tax").id
    ]


async def test_dead_letters_outlive_the_log_until_replayed_or_purged(q: Queue) -> None:
    ds = [queued("01EPA", n) for n in range(8)]
    await q.impl.enqueue([*ds, queued("01EPA", 99)], now_ms=T0)
    states = [DeliveryState.DEAD_LETTERED, DeliveryState.FAILED]
    for n, d in enumerate(ds):
        await q.impl.finish(d, now_ms=T0 + n, attempt=attempt(d, 34, states[n % 2]))
    delivered = queued("01EPA", 99)
    await q.impl.finish(
        delivered, now_ms=T0 + 9, attempt=attempt(delivered, 1, DeliveryState.DELIVERED)
    )
    assert len(await q.log("01EPA")) == 5  # the log is bounded ...
    letters = await q.dead_letters("01EPA")
    assert {x.delivery.id for x in letters} == {d.id for d in ds}  # ... dead letters are not
    assert letters[0].last.attempt == 34

    # Replayed: due now, a fresh retry window, the same webhook-id; no longer a dead letter.
    assert await q.replay("01EPA", [ds[0].id], now_ms=T0 + 100) == 1
    assert await q.replay("01EPA", [ds[0].id], now_ms=T0 + 100) == 0
    (again,) = await claimed(
        q, T0 + 100, lease_ms=1000, limit=10, per_endpoint=10, per_department=10
    )
    assert (again.id, again.attempts, again.first_attempt_ms) == (ds[0].id, 0, None)
    assert len(await q.dead_letters("01EPA")) == 7
    # Purged: one, then all.
    assert await q.purge("01EPA", [ds[1].id, "msg_no_such"]) == 1
    assert await q.purge("01EPA", None) == 6
    assert await q.dead_letters("01EPA") == []


async def test_retry_reschedules_and_finish_removes_for_good(q: Queue) -> None:
    d = queued("01EPA", 0)
    await q.impl.enqueue([d], now_ms=T0)
    (got,) = await claimed(q, T0, lease_ms=1000, limit=1, per_endpoint=1, per_department=1)
    tried = got.model_copy(update={"attempts": 1, "first_attempt_ms": T0})
    await q.impl.retry(tried, at_ms=T0 + 5000, attempt=attempt(d, 1, DeliveryState.RETRYING))
    assert await claim(q, T0 + 4999) == []
    (again,) = await claimed(q, T0 + 5000, lease_ms=1000, limit=1, per_endpoint=1, per_department=1)
    assert (again.attempts, again.first_attempt_ms) == (1, T0)
    await q.impl.finish(again, now_ms=T0 + 5000, attempt=attempt(d, 2, DeliveryState.DELIVERED))
    assert await claim(q, T0 + 10**9) == []
    assert await q.impl.enqueue([d], now_ms=T0 + 6000) == 0  # finished: never again
    # A late retry of a finished delivery does not bring it back.
    await q.impl.retry(tried, at_ms=T0 + 7000, attempt=attempt(d, 3, DeliveryState.RETRYING))
    assert await claim(q, T0 + 10**9) == []
    assert [a.attempt for a in await q.log("01EPA")] == [3, 2, 1]


async def test_the_delivery_log_is_bounded_newest_first(q: Queue) -> None:
    ds = [queued("01EPA", n) for n in range(8)]
    await q.impl.enqueue(ds, now_ms=T0)
    for n, d in enumerate(ds):
        await q.impl.finish(d, now_ms=T0 + n, attempt=attempt(d, 1, DeliveryState.FAILED))
    log = await q.log("01EPA")
    assert [a.delivery_id for a in log] == [d.id for d in reversed(ds)][:5]
    assert await q.log("01EPB") == []
    await q.forget("01EPA")
    assert await q.log("01EPA") == []


async def test_finished_ids_are_forgotten_after_a_day(q: Queue) -> None:
    d = queued("01EPA", 0)
    await q.impl.enqueue([d], now_ms=T0)
    await q.impl.finish(d, now_ms=T0, attempt=None)
    later = queued("01EPA", 1)
    await q.impl.enqueue([later], now_ms=T0 + 86_400_001)
    await q.impl.finish(later, now_ms=T0 + 86_400_001, attempt=None)  # trims the old ones
    assert await q.impl.enqueue([d], now_ms=T0 + 86_400_002) == 1


# ---------------------------------------------------------------- Redis only


class Counting:
    name = "webhook"

    def __init__(self, fail_first: bool = False) -> None:
        self.sent: list[tuple[str, int]] = []
        self.fail_first = fail_first

    async def deliver(self, delivery: Delivery) -> Outcome:
        self.sent.append((delivery.id, delivery.attempt))
        await asyncio.sleep(0.002)
        if self.fail_first and delivery.attempt == 1:
            return Outcome(OutcomeKind.RETRYABLE, Reason.CONNECTION)
        return Outcome(OutcomeKind.DELIVERED, status_code=200)


@pytest.fixture
async def clients(services: dict[str, str], ns: str) -> AsyncIterator[list[Redis]]:
    made = [redis_client(services["redis"]) for _ in range(3)]
    yield made
    await wipe(made[2], ns)
    for c in made:
        await c.aclose()


async def test_two_schedulers_on_redis_send_each_delivery_once(
    clients: list[Redis], ns: str
) -> None:
    endpoints = Endpoints()
    eps = [f"01EP{i}" for i in range(5)]
    for ep in eps:
        endpoints.add(ep, "tax")
    notifier = Counting()
    pair = [
        DeliveryScheduler(
            RedisDeliveryQueue(c, namespace=ns),
            endpoints,
            Subscriptions(),
            notifier,
            SystemClock(),
            limits=Limits(per_endpoint=3, poll_s=0.01),
        )
        for c in clients[:2]
    ]
    watcher = RedisDeliveryQueue(clients[2], namespace=ns)
    await watcher.enqueue([queued(ep, n) for ep in eps for n in range(40)], now_ms=0)
    stopping = asyncio.Event()
    runs = [asyncio.create_task(s.run_due(stopping)) for s in pair]
    try:
        for _ in range(1000):
            if not await clients[2].hlen(watcher.pending_key):
                break
            await asyncio.sleep(0.01)
    finally:
        stopping.set()
        await asyncio.gather(*runs)
    ids = [d for d, _ in notifier.sent]
    assert len(ids) == 200
    assert set(Counter(ids).values()) == {1}


async def test_a_scheduler_on_a_new_connection_picks_up_the_pending(
    clients: list[Redis], ns: str
) -> None:
    endpoints = Endpoints()
    endpoints.add("01EPA", "tax")
    clock = FakeClock(AT)
    first = Counting(fail_first=True)
    old = DeliveryScheduler(
        RedisDeliveryQueue(clients[0], namespace=ns),
        endpoints,
        Subscriptions(),
        first,
        clock,
        policy=RetryPolicy(jitter=0),
    )
    await RedisDeliveryQueue(clients[0], namespace=ns).enqueue(
        [queued("01EPA", 0)], now_ms=int(AT.timestamp() * 1000)
    )
    assert await old.due_step() == 1
    await old.drain()
    await clients[0].aclose()  # the process is gone
    clock.advance(5)
    second = Counting()
    queue = RedisDeliveryQueue(clients[1], namespace=ns)
    new = DeliveryScheduler(queue, endpoints, Subscriptions(), second, clock, rng=random.Random())
    assert await new.due_step() == 1
    await new.drain()
    assert second.sent == [(delivery_id("01EPA", "01AL000000", 1), 2)]
    log = await queue.attempts("01EPA")
    assert [a.state for a in log] == [DeliveryState.DELIVERED, DeliveryState.RETRYING]


async def test_64_dead_endpoints_of_one_department_do_not_delay_another_s_on_redis(
    services: dict[str, str], ns: str, receiver: Receiver, dead_listeners: list[str]
) -> None:
    client = redis_client(services["redis"])
    try:
        queue = RedisDeliveryQueue(client, namespace=ns)
        await assert_no_department_starves(queue, receiver, dead_listeners)
    finally:
        await wipe(client, ns)
        await client.aclose()
