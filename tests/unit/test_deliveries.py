"""The delivery scheduler on the in-memory queue: the retry schedule as a timeline on a
fake clock, dead-lettering after 24 hours, restarts, routing through subscriptions, and
(on a real HTTP receiver) a dead endpoint that never delays a healthy one."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from alerts import feed_codec
from alerts.notify.base import (
    Delivery,
    DeliveryState,
    Outcome,
    OutcomeKind,
    Reason,
    outcome_for_status,
)
from alerts.notify.deliveries import DeliveryScheduler, Limits, RetryPolicy
from alerts.notify.endpoints import Endpoint
from alerts.notify.memory import MemoryDeliveryQueue
from alerts.notify.queue import QueuedDelivery, delivery_id
from alerts.notify.webhook import WebhookNotifier
from alerts.subscriptions import Subscription
from core.clock import Clock, FakeClock, SystemClock
from core.errors import StoreError

from .test_subscriptions import OTHER, alert
from .webhook_receiver import LOOPBACK_ALLOWED, Receiver

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
SECRET = "whsec_" + base64.b64encode(b"deliveries-test-secret-24").decode()
STEADY = RetryPolicy(jitter=0.0)


class Endpoints:
    def __init__(self) -> None:
        self.by_id: dict[str, Endpoint] = {}

    def add(self, endpoint_id: str, department: str, url: str = "http://127.0.0.1:9/x") -> None:
        self.by_id[endpoint_id] = Endpoint(
            id=endpoint_id,
            department=department,
            url=url,
            created_at=START,
            secret=SecretStr(SECRET),
        )

    async def get(self, endpoint_id: str) -> Endpoint | None:
        return self.by_id.get(endpoint_id)

    async def endpoint_ids(self, departments: Collection[str]) -> dict[str, list[str]]:
        return {
            d: sorted(
                e.id for e in self.by_id.values() if e.department == d and e.disabled_at is None
            )
            for d in departments
        }

    async def set_disabled(self, endpoint_id: str, disabled_at: datetime | None) -> bool:
        endpoint = self.by_id.get(endpoint_id)
        if endpoint is None:
            return False
        self.by_id[endpoint_id] = endpoint.model_copy(update={"disabled_at": disabled_at})
        return True


class Subscriptions:
    def __init__(self, by_dept: dict[str, list[Subscription]] | None = None) -> None:
        self.by_dept = by_dept or {}

    async def by_departments(self, departments: Collection[str]) -> dict[str, list[Subscription]]:
        return {d: self.by_dept.get(d, []) for d in departments}


class Scripted:
    """A notifier answering from a script per endpoint (the last answer repeats)."""

    name = "webhook"

    def __init__(self, clock: Clock, script: dict[str, list[Outcome]] | None = None) -> None:
        self.clock = clock
        self.script = script or {}
        self.sent: list[tuple[str, int, datetime]] = []
        self.gate: asyncio.Event | None = None

    async def deliver(self, delivery: Delivery) -> Outcome:
        self.sent.append((delivery.id, delivery.attempt, self.clock.now()))
        if self.gate is not None:
            await self.gate.wait()
        answers = self.script.get(delivery.endpoint_id, [Outcome(OutcomeKind.DELIVERED)])
        return answers[min(delivery.attempt, len(answers)) - 1]


def fail(status: int = 503) -> Outcome:
    reason = Reason.SERVER_ERROR if status >= 500 else Reason.REJECTED
    kind = OutcomeKind.RETRYABLE if status >= 500 else OutcomeKind.PERMANENT
    return Outcome(kind, reason, status)


OK = Outcome(OutcomeKind.DELIVERED, status_code=200)


def scheduler(
    queue: MemoryDeliveryQueue,
    endpoints: Endpoints,
    notifier: Any,
    clock: Clock,
    *,
    subs: Subscriptions | None = None,
    policy: RetryPolicy = STEADY,
    limits: Limits | None = None,
) -> DeliveryScheduler:
    return DeliveryScheduler(
        queue,
        endpoints,
        subs or Subscriptions(),
        notifier,
        clock,
        policy=policy,
        limits=limits or Limits(poll_s=0.01),
        rng=random.Random(7),
    )


def raw(**changes: Any) -> bytes:
    return alert(**changes).model_dump_json().encode()


async def settle(s: DeliveryScheduler) -> None:
    """Send everything due now, and wait for it."""
    while await s.due_step():
        await s.drain()


async def until(check: Callable[[], bool], *, within_s: float) -> None:
    for _ in range(int(within_s / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not within {within_s}s")


def next_due_ms(queue: MemoryDeliveryQueue) -> int | None:
    times = [t for per in queue.due.values() for t in per.values()]
    return min(times) if times else None


async def run_timeline(s: DeliveryScheduler, queue: MemoryDeliveryQueue, clock: FakeClock) -> None:
    """Move the fake clock from one due time to the next until nothing is left."""
    for _ in range(1000):
        await settle(s)
        due = next_due_ms(queue)
        if due is None:
            return
        clock.advance(max(0.0, due / 1000 - clock.now().timestamp()))
    raise AssertionError("the schedule never ended")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def tax() -> Endpoints:
    endpoints = Endpoints()
    endpoints.add("01TAXHOOK", "tax")
    return endpoints


async def test_backoff_doubles_from_5_s_to_1_h_then_dead_letters_after_24_h(
    clock: FakeClock, tax: Endpoints
) -> None:
    queue = MemoryDeliveryQueue()
    notifier = Scripted(clock, {"01TAXHOOK": [fail(503)]})
    s = scheduler(queue, tax, notifier, clock)
    assert await s.enqueue_changes([(raw(), "created")]) == 1
    await run_timeline(s, queue, clock)

    offsets = [(at - START).total_seconds() for _, _, at in notifier.sent]
    # At(0) first try; then 5, 10, 20 … 2560 s apart; then hourly.
    assert offsets[:12] == [0, 5, 15, 35, 75, 155, 315, 635, 1275, 2555, 5115, 8715]
    assert all(b - a == 3600 for a, b in itertools.pairwise(offsets[10:]))
    # Retried for at least 24 hours after the first attempt, and not an hour longer.
    assert offsets[-2] < 86400 <= offsets[-1] < 86400 + 3600
    assert len(offsets) == 34
    assert [n for _, n, _ in notifier.sent] == list(range(1, 35))

    log = await queue.attempts("01TAXHOOK")
    assert [a.state for a in log[:2]] == [DeliveryState.DEAD_LETTERED, DeliveryState.RETRYING]
    assert log[0].reason is Reason.SERVER_ERROR
    assert log[0].status_code == 503
    assert log[0].next_attempt_at is None
    assert log[1].next_attempt_at == log[0].at
    assert queue.pending == {}  # nothing left to send
    # Dead-lettered deliveries are never queued again, even if the feed entry is re-read.
    assert await s.enqueue_changes([(raw(), "created")]) == 0


async def test_jitter_moves_each_delay_by_at_most_a_tenth(clock: FakeClock, tax: Endpoints) -> None:
    queue = MemoryDeliveryQueue()
    notifier = Scripted(clock, {"01TAXHOOK": [fail(500)] * 12 + [OK]})
    s = scheduler(queue, tax, notifier, clock, policy=RetryPolicy())
    await s.enqueue_changes([(raw(), "created")])
    await run_timeline(s, queue, clock)
    times = [at for _, _, at in notifier.sent]
    delays = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    for n, delay in enumerate(delays, start=1):
        base = min(3600.0, 5.0 * 2 ** (n - 1))
        assert base * 0.9 - 0.001 <= delay <= min(3600.0, base * 1.1) + 0.001
    assert len(set(delays[:5])) == 5  # not all the same stretch
    assert (await queue.attempts("01TAXHOOK"))[0].state is DeliveryState.DELIVERED


async def test_retry_after_is_honoured(clock: FakeClock, tax: Endpoints) -> None:
    queue = MemoryDeliveryQueue()
    slow_down = Outcome(OutcomeKind.RETRYABLE, Reason.RATE_LIMITED, 429, retry_after_s=120)
    notifier = Scripted(clock, {"01TAXHOOK": [slow_down, OK]})
    s = scheduler(queue, tax, notifier, clock)
    await s.enqueue_changes([(raw(), "created")])
    await run_timeline(s, queue, clock)
    assert [(at - START).total_seconds() for _, _, at in notifier.sent] == [0, 120]


async def test_a_4xx_answer_is_retried_for_24_hours_then_kept_as_a_dead_letter(
    clock: FakeClock, tax: Endpoints
) -> None:
    queue = MemoryDeliveryQueue()
    not_found = outcome_for_status(404, latency_ms=3)  # the mapping the notifier applies
    notifier = Scripted(clock, {"01TAXHOOK": [not_found]})
    s = scheduler(queue, tax, notifier, clock)
    await s.enqueue_changes([(raw(), "created")])
    await run_timeline(s, queue, clock)
    offsets = [(at - START).total_seconds() for _, _, at in notifier.sent]
    assert len(offsets) == 34  # the whole retry window, as for a 5xx
    assert offsets[-2] < 86400 <= offsets[-1]
    (letter,) = await queue.dead_letters("01TAXHOOK")
    assert (letter.last.state, letter.last.reason, letter.last.status_code) == (
        DeliveryState.DEAD_LETTERED,
        Reason.REJECTED,
        404,
    )


async def test_a_410_answer_disables_the_endpoint_and_keeps_a_dead_letter(
    clock: FakeClock, tax: Endpoints
) -> None:
    queue = MemoryDeliveryQueue()
    notifier = Scripted(clock, {"01TAXHOOK": [outcome_for_status(410, latency_ms=3)]})
    s = scheduler(queue, tax, notifier, clock)
    await s.enqueue_changes([(raw(), "created")])
    await queue.enqueue([queued("01TAXHOOK", 1)], now_ms=int(START.timestamp() * 1000))
    await run_timeline(s, queue, clock)
    assert len(notifier.sent) == 1  # not retried; the other waiting delivery is not sent
    assert tax.by_id["01TAXHOOK"].disabled_at == START
    letters = await queue.dead_letters("01TAXHOOK")
    assert {(x.last.state, x.last.reason, x.last.status_code) for x in letters} == {
        (DeliveryState.FAILED, Reason.GONE, None),  # waited, found the endpoint disabled
        (DeliveryState.FAILED, Reason.GONE, 410),
    }
    assert queue.pending == {}
    # A disabled endpoint is given nothing new.
    assert await s.enqueue_changes([(raw(revision=2), "status")]) == 0


async def test_a_delivery_that_lands_on_the_third_try_is_logged_with_each_attempt(
    clock: FakeClock, tax: Endpoints
) -> None:
    queue = MemoryDeliveryQueue()
    notifier = Scripted(clock, {"01TAXHOOK": [fail(500), fail(502), OK]})
    s = scheduler(queue, tax, notifier, clock)
    await s.enqueue_changes([(raw(), "created")])
    await run_timeline(s, queue, clock)
    log = await queue.attempts("01TAXHOOK")
    assert [(a.attempt, a.state, a.status_code) for a in log] == [
        (3, DeliveryState.DELIVERED, 200),
        (2, DeliveryState.RETRYING, 502),
        (1, DeliveryState.RETRYING, 500),
    ]
    assert {a.delivery_id for a in log} == {notifier.sent[0][0]}  # one webhook-id throughout


async def test_a_new_scheduler_picks_up_what_the_old_one_left(
    clock: FakeClock, tax: Endpoints
) -> None:
    queue = MemoryDeliveryQueue()  # the persisted queue outlives the schedulers
    first = Scripted(clock, {"01TAXHOOK": [fail(503)]})
    old = scheduler(queue, tax, first, clock)
    await old.enqueue_changes([(raw(), "created")])
    await settle(old)
    del old  # a restart: the process is gone
    clock.advance(5)
    second = Scripted(clock)
    new = scheduler(queue, tax, second, clock)
    await settle(new)
    assert [(n, at - START) for _, n, at in second.sent] == [(2, timedelta(seconds=5))]
    assert (await queue.attempts("01TAXHOOK"))[0].state is DeliveryState.DELIVERED


async def test_a_scheduler_killed_mid_send_is_taken_over_when_its_lease_ends(
    clock: FakeClock, tax: Endpoints
) -> None:
    queue = MemoryDeliveryQueue()
    hung = Scripted(clock)
    hung.gate = asyncio.Event()  # never set: the send never returns
    dying = scheduler(queue, tax, hung, clock)
    await dying.enqueue_changes([(raw(), "created")])
    assert await dying.due_step() == 1
    await asyncio.sleep(0)
    for task in asyncio.all_tasks():
        if task.get_name().startswith("deliver-"):
            task.cancel()  # kill -9: nothing recorded
    await dying.drain()
    other = Scripted(clock)
    taker = scheduler(queue, tax, other, clock)
    assert await taker.due_step() == 0  # still leased to the dead one
    clock.advance(Limits().lease_s)
    await settle(taker)
    assert [n for _, n, _ in other.sent] == [1]
    assert (await queue.attempts("01TAXHOOK"))[0].state is DeliveryState.DELIVERED


async def test_changes_reach_the_endpoints_of_the_departments_that_receive_them(
    clock: FakeClock,
) -> None:
    endpoints = Endpoints()
    for ep, dept in [("01S1", "samr"), ("01S2", "samr"), ("01P1", "police"), ("01T1", "tax")]:
        endpoints.add(ep, dept)
    police_follows_another_firm = Subscription(id="s", department="police", usccs=[OTHER])
    subs = Subscriptions({"police": [police_follows_another_firm]})
    queue = MemoryDeliveryQueue()
    s = scheduler(queue, endpoints, Scripted(clock), clock, subs=subs)
    shell = raw(rule_id="shell_company")
    assert await s.enqueue_changes([(shell, "created")]) == 2
    a = alert(rule_id="shell_company")
    assert set(queue.pending) == {
        delivery_id("01S1", a.alert_id, 1),
        delivery_id("01S2", a.alert_id, 1),
    }
    body = orjson.loads(next(iter(queue.pending.values())).body)
    assert body == {"type": "alert", "change": "created", "alert": orjson.loads(shell)}
    # Read twice (a redelivered feed entry): queued once.
    assert await s.enqueue_changes([(shell, "created")]) == 0
    await settle(s)
    assert await s.enqueue_changes([(shell, "created")]) == 0  # delivered: not again
    # The next revision is a new delivery.
    assert await s.enqueue_changes([(raw(rule_id="shell_company", revision=2), "status")]) == 2


async def test_a_deleted_endpoint_drops_its_waiting_deliveries(
    clock: FakeClock, tax: Endpoints
) -> None:
    queue = MemoryDeliveryQueue()
    notifier = Scripted(clock)
    s = scheduler(queue, tax, notifier, clock)
    await s.enqueue_changes([(raw(), "created")])
    del tax.by_id["01TAXHOOK"]
    await settle(s)
    assert notifier.sent == []
    assert queue.pending == {}


async def test_a_notifier_that_raises_loses_nothing(clock: FakeClock, tax: Endpoints) -> None:
    class Broken:
        name = "webhook"

        async def deliver(self, delivery: Delivery) -> Outcome:
            raise RuntimeError(f"bug with {delivery.secret}")

    queue = MemoryDeliveryQueue()
    s = scheduler(queue, tax, Broken(), clock)
    await s.enqueue_changes([(raw(), "created")])
    await settle(s)
    (attempt,) = await queue.attempts("01TAXHOOK")
    assert (attempt.state, attempt.reason) == (DeliveryState.RETRYING, Reason.INTERNAL)
    assert len(queue.pending) == 1


async def test_failures_are_logged_without_secret_or_url(clock: FakeClock) -> None:
    endpoints = Endpoints()
    endpoints.add("01TAXHOOK", "tax", url="http://127.0.0.1:9/hook?token=urltoken-c0ffee")
    queue = MemoryDeliveryQueue()
    s = scheduler(
        queue, endpoints, WebhookNotifier(clock, timeout_s=1, egress=LOOPBACK_ALLOWED), clock
    )
    await s.enqueue_changes([(raw(), "created")])
    with capture_logs() as logs:
        await settle(s)
    assert logs
    text = repr(logs) + repr(await queue.attempts("01TAXHOOK")) + repr(queue.pending)
    assert SECRET[6:] not in text
    assert "urltoken-c0ffee" not in text


async def test_claims_respect_the_per_endpoint_limit_and_skip_busy_endpoints(
    clock: FakeClock,
) -> None:
    endpoints = Endpoints()
    endpoints.add("01AAAA", "tax")
    endpoints.add("01ZZZZ", "tax")
    queue = MemoryDeliveryQueue()
    notifier = Scripted(clock)
    notifier.gate = asyncio.Event()
    s = scheduler(queue, endpoints, notifier, clock, limits=Limits(per_endpoint=4))
    many = [queued("01AAAA", n) for n in range(50)] + [queued("01ZZZZ", 0)]
    await queue.enqueue(many, now_ms=int(START.timestamp() * 1000))
    assert await s.due_step() == 5  # four of the busy endpoint's fifty, and the other's one
    assert await s.due_step() == 0
    await asyncio.sleep(0)
    assert Counter(d.split("_")[1] for d, _, _ in notifier.sent) == {"01AAAA": 4, "01ZZZZ": 1}
    notifier.gate.set()
    await s.drain()
    assert await s.due_step() == 4


def queued(endpoint_id: str, n: int, department: str = "tax") -> QueuedDelivery:
    alert_id = f"01AL{n:06d}"
    return QueuedDelivery(
        id=delivery_id(endpoint_id, alert_id, 1),
        endpoint_id=endpoint_id,
        department=department,
        alert_id=alert_id,
        revision=1,
        change="created",
        body='{"type":"alert"}',
        enqueued_ms=0,
    )


async def test_two_schedulers_send_each_delivery_once() -> None:
    clock = SystemClock()
    endpoints = Endpoints()
    eps = [f"01EP{i}" for i in range(5)]
    for ep in eps:
        endpoints.add(ep, "tax")

    class Counting:
        name = "webhook"

        def __init__(self) -> None:
            self.sent: list[str] = []

        async def deliver(self, delivery: Delivery) -> Outcome:
            self.sent.append(delivery.id)
            await asyncio.sleep(0.002)
            return OK

    queue = MemoryDeliveryQueue()
    notifier = Counting()
    pair = [scheduler(queue, endpoints, notifier, clock) for _ in range(2)]
    await queue.enqueue([queued(ep, n) for ep in eps for n in range(20)], now_ms=0)
    stopping = asyncio.Event()
    runs = [asyncio.create_task(s.run_due(stopping)) for s in pair]
    await until(lambda: not queue.pending, within_s=10)
    stopping.set()
    await asyncio.gather(*runs)
    assert len(notifier.sent) == 100
    assert set(Counter(notifier.sent).values()) == {1}


def _dead_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


async def test_a_slow_and_a_dead_endpoint_never_delay_a_healthy_one(receiver: Receiver) -> None:
    clock = SystemClock()
    endpoints = Endpoints()
    endpoints.add("01AAHANGS", "tax", receiver.url("/sleep/30"))  # answers after 30 s
    endpoints.add("01ABDEAD", "tax", _dead_url())  # connection refused
    endpoints.add("01ZZHEALTHY", "tax", receiver.url("/status/204"))
    queue = MemoryDeliveryQueue()
    notifier = WebhookNotifier(clock, timeout_s=10, egress=LOOPBACK_ALLOWED)
    s = scheduler(queue, endpoints, notifier, clock, limits=Limits(per_endpoint=4, poll_s=0.05))
    now_ms = int(time.time() * 1000)
    # Forty deliveries for the bad endpoints are due first; the healthy one's comes last.
    backlog: Sequence[QueuedDelivery] = [
        queued(ep, n) for ep in ("01AAHANGS", "01ABDEAD") for n in range(20)
    ]
    await queue.enqueue([*backlog, queued("01ZZHEALTHY", 0)], now_ms=now_ms)
    stopping = asyncio.Event()
    started = time.monotonic()
    run = asyncio.create_task(s.run_due(stopping))
    try:
        await until(lambda: bool(receiver.to("/status/204")), within_s=5)
        healthy_after = receiver.to("/status/204")[0].at - started
        assert healthy_after < 1.0, f"the healthy endpoint waited {healthy_after:.2f}s"
        assert len(receiver.to("/sleep/30")) <= 4  # the slow one holds only its own slots
        assert not (await queue.attempts("01AAHANGS"))  # and is still hanging
    finally:
        receiver.release()
        stopping.set()
        async with asyncio.timeout(15):
            await run
        await notifier.aclose()


async def test_an_endpoint_that_cannot_be_read_counts_as_a_failed_attempt(
    clock: FakeClock, tax: Endpoints
) -> None:
    class Unreadable(Endpoints):
        async def get(self, endpoint_id: str) -> Endpoint | None:
            raise StoreError("a sealed secret failed authentication")

    unreadable = Unreadable()
    unreadable.by_id = tax.by_id
    queue = MemoryDeliveryQueue()
    notifier = Scripted(clock)
    s = scheduler(queue, unreadable, notifier, clock)
    await s.enqueue_changes([(raw(), "created")])
    await settle(s)
    (attempt,) = await queue.attempts("01TAXHOOK")
    assert (attempt.state, attempt.reason) == (DeliveryState.RETRYING, Reason.INTERNAL)
    assert notifier.sent == []


async def test_a_cancelled_scheduler_leaves_its_sends_to_the_lease(
    clock: FakeClock, tax: Endpoints
) -> None:
    queue = MemoryDeliveryQueue()
    hung = Scripted(clock)
    hung.gate = asyncio.Event()
    s = scheduler(queue, tax, hung, clock)
    await s.enqueue_changes([(raw(), "created")])
    run = asyncio.create_task(s.run_due(asyncio.Event()))
    await until(lambda: s.in_flight == 1, within_s=2)
    run.cancel()  # the worker shuts down: it does not wait for the hung send
    with pytest.raises(asyncio.CancelledError):
        await run
    await until(lambda: s.in_flight == 0, within_s=2)
    assert len(queue.pending) == 1  # still queued, leased: taken over when the lease ends


async def test_64_dead_endpoints_of_one_department_do_not_delay_another_s_delivery(
    receiver: Receiver, dead_listeners: list[str]
) -> None:
    await assert_no_department_starves(MemoryDeliveryQueue(), receiver, dead_listeners)


async def assert_no_department_starves(
    queue: Any, receiver: Receiver, dead_urls: list[str]
) -> None:
    """samr's 64 dead endpoints, 8 deliveries each (twice the process's slots), all due
    before the tax bureau's one delivery: it still goes out within 3 s. Run on the memory
    queue here and on Redis in ``test_webhooks_queue.py``."""
    clock = SystemClock()
    endpoints = Endpoints()
    for n, url in enumerate(dead_urls):
        endpoints.add(f"01SAMRDEAD{n:02d}", "samr", url)
    endpoints.add("01TAXHEALTHY", "tax", receiver.url("/status/204"))
    notifier = WebhookNotifier(clock, timeout_s=10, egress=LOOPBACK_ALLOWED)
    s = scheduler(queue, endpoints, notifier, clock, limits=Limits(poll_s=0.05))  # defaults
    now_ms = int(time.time() * 1000)
    crowd = [queued(ep, n, "samr") for ep in sorted(endpoints.by_id)[:64] for n in range(8)]
    await queue.enqueue(crowd, now_ms=now_ms)
    await queue.enqueue([queued("01TAXHEALTHY", 0)], now_ms=now_ms + 1)
    run = asyncio.create_task(s.run_due(asyncio.Event()))
    started = time.monotonic()
    try:
        await until(lambda: bool(receiver.to("/status/204")), within_s=9)
        waited = receiver.to("/status/204")[0].at - started
        assert waited < 3.0, f"the tax bureau's delivery waited {waited:.2f}s"
        # samr holds only its share (and tax's one send may still be finishing).
        assert s.in_flight <= Limits().per_department + 1
        assert not await queue.attempts("01SAMRDEAD00")  # and its sends still hang
    finally:
        run.cancel()  # the hung sends are cancelled, not waited for
        with contextlib.suppress(asyncio.CancelledError):
            await run
        await notifier.aclose()


async def test_a_change_as_the_feed_stores_it_is_delivered_as_its_json(clock: FakeClock) -> None:
    """The feed stores alerts compressed (``alerts.feed_codec``): the webhook body is the
    alert's JSON all the same, and an entry in no known encoding is skipped, not fatal."""
    endpoints = Endpoints()
    endpoints.add("01S1", "samr")
    queue = MemoryDeliveryQueue()
    s = scheduler(queue, endpoints, Scripted(clock), clock)
    shell = raw(rule_id="shell_company")
    stored = feed_codec.encode(shell)
    assert stored != shell
    with capture_logs() as logs:
        queued = await s.enqueue_changes([(b"\x00zz not a frame", "created"), (stored, "created")])
    assert queued == 1
    body = orjson.loads(next(iter(queue.pending.values())).body)
    assert body == {"type": "alert", "change": "created", "alert": orjson.loads(shell)}
    assert [e["event"] for e in logs] == ["feed entry is not an alert, skipped"]
