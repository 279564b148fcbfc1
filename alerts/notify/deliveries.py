"""The delivery scheduler: alert changes in, signed requests out, retried until they land.

Two loops, both safe to run in every worker:

- :meth:`DeliveryScheduler.enqueue_from_feed` tails the alert feed with its own consumer
  group (``webhooks``) and turns each change into one queued delivery per endpoint of each
  department that receives it (:func:`alerts.routing.deliveries_for`: its owners, filtered
  by their subscriptions). An entry is acknowledged once its deliveries are in the
  persisted queue; reading an entry twice queues nothing twice.
- :meth:`DeliveryScheduler.run_due` claims due deliveries and sends each in its own task,
  at most ``Limits.per_endpoint`` at a time per endpoint, ``Limits.per_department`` per
  department and ``Limits.total`` in all, so a slow or dead endpoint holds only its own
  slots, a department's dead endpoints only the department's share, and neither delays
  another department (nor the pipeline, which only writes the feed). A failure (anything
  but a 2xx answer, except 410) is tried again after an exponential backoff with jitter
  (5 s, 10 s, 20 s … capped at 1 h) until ``RetryPolicy.give_up_after_s`` (24 h) after the
  first attempt, then dead-lettered. A 410 disables the endpoint. Dead letters are kept
  until an admin replays or purges them.

Every time comes from the injected clock, so tests drive the schedule on a ``FakeClock``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

from pydantic import ValidationError
from redis.asyncio import Redis

from alerts import feed_codec
from alerts.notify.base import Delivery, DeliveryState, Notifier, Outcome, OutcomeKind, Reason
from alerts.notify.endpoints import Endpoint
from alerts.notify.limits import DEFAULT_LIMITS, DEFAULT_RETRY, Limits, RetryPolicy
from alerts.notify.metrics import (
    NOTIFICATION_ATTEMPTS,
    NOTIFICATION_LAG_SECONDS,
    NOTIFICATION_SECONDS,
    NOTIFICATIONS_ENQUEUED,
)
from alerts.notify.queue import Attempt, QueuedDelivery, delivery_id
from alerts.routing import deliveries_for
from alerts.store import FEED_KEY
from alerts.subscriptions import Subscription
from core.clock import Clock
from core.errors import StoreError
from core.telemetry import REDIS_ERRORS, get_logger
from streams.alert import Alert
from streams.stream_group import Entry, GroupTail, StreamGroup

GROUP = "webhooks"
log = get_logger(__name__)
__all__ = ["DeliveryScheduler", "Limits", "RetryPolicy", "webhook_body"]


class DeliveryQueue(Protocol):
    async def enqueue(self, deliveries: Sequence[QueuedDelivery], *, now_ms: int) -> int: ...

    async def claim(
        self,
        *,
        now_ms: int,
        lease_ms: int,
        limit: int,
        per_endpoint: int,
        in_flight: Mapping[str, int],
        per_department: int,
        department_in_flight: Mapping[str, int],
    ) -> list[QueuedDelivery]: ...

    async def retry(self, delivery: QueuedDelivery, *, at_ms: int, attempt: Attempt) -> None: ...

    async def finish(
        self, delivery: QueuedDelivery, *, now_ms: int, attempt: Attempt | None
    ) -> None: ...


class EndpointDirectory(Protocol):
    async def get(self, endpoint_id: str) -> Endpoint | None: ...

    async def endpoint_ids(self, departments: Collection[str]) -> dict[str, list[str]]: ...

    async def set_disabled(self, endpoint_id: str, disabled_at: datetime | None) -> bool: ...


class SubscriptionSource(Protocol):
    async def by_departments(
        self, departments: Collection[str]
    ) -> dict[str, list[Subscription]]: ...


def webhook_body(raw_alert: bytes, change: str) -> bytes:
    """The body of a webhook: the alert exactly as on Kafka, with the kind of change."""
    return b'{"type":"alert","change":"%s","alert":%s}' % (change.encode(), raw_alert)


class DeliveryScheduler:
    def __init__(
        self,
        queue: DeliveryQueue,
        endpoints: EndpointDirectory,
        subscriptions: SubscriptionSource,
        notifier: Notifier,
        clock: Clock,
        *,
        redis: Redis | None = None,
        consumer: str = "scheduler",
        policy: RetryPolicy = DEFAULT_RETRY,
        limits: Limits = DEFAULT_LIMITS,
        rng: random.Random | None = None,
    ) -> None:
        self._queue = queue
        self._endpoints = endpoints
        self._subscriptions = subscriptions
        self._notifier = notifier
        self._clock = clock
        self._policy = policy
        self._limits = limits
        self._feed_tail = (
            None if redis is None else _FeedTail(redis, _feed_group(consumer, limits), self)
        )
        self._rng = rng or random.Random()
        self._in_flight: Counter[str] = Counter()
        self._department_in_flight: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()

    # ---------------------------------------------------------------- feed -> queue

    async def enqueue_changes(self, changes: Sequence[tuple[bytes, str]]) -> int:
        """Queue one delivery per receiving endpoint for each ``(alert, change)``: the
        alert as the feed stores it (:mod:`alerts.feed_codec`) or its JSON."""
        alerts: list[tuple[Alert, bytes, str]] = []
        for stored, change in changes:
            try:
                raw = feed_codec.decode(stored)
                alerts.append((Alert.model_validate_json(raw), raw, change))
            except (ValidationError, StoreError):
                log.warning("feed entry is not an alert, skipped")
        departments = {d for alert, _, _ in alerts for d in alert.departments}
        if not departments:
            return 0
        subs = await self._subscriptions.by_departments(departments)
        endpoints = await self._endpoints.endpoint_ids(departments)
        now_ms = self._now_ms()
        queued = [
            QueuedDelivery(
                id=delivery_id(ep, alert.alert_id, alert.revision),
                endpoint_id=ep,
                department=dept,
                alert_id=alert.alert_id,
                revision=alert.revision,
                change=change,
                body=webhook_body(raw, change).decode(),
                enqueued_ms=now_ms,
            )
            for alert, raw, change in alerts
            for dept in sorted(deliveries_for(alert, subs))
            for ep in endpoints.get(dept, ())
        ]
        added = await self._queue.enqueue(queued, now_ms=now_ms)
        NOTIFICATIONS_ENQUEUED.labels(self._notifier.name).inc(added)
        return added

    async def enqueue_from_feed(self, stopping: asyncio.Event) -> None:
        """Tail the alert feed until ``stopping`` is set; survives Redis failures
        (:class:`streams.stream_group.GroupTail`)."""
        await self._feed.run(stopping)

    async def ensure_group(self) -> None:
        """Create the ``webhooks`` group at the feed's end: endpoints get changes from the
        moment webhooks are switched on, never the whole replay buffer."""
        await self._feed.ensure_group()

    async def feed_step(self) -> int:
        """Queue one batch of feed entries: left pending by a dead consumer, else new."""
        return await self._feed.step()

    @property
    def _feed(self) -> GroupTail:
        if self._feed_tail is None:
            raise StoreError("this scheduler was built without Redis: it cannot read the feed")
        return self._feed_tail

    # ---------------------------------------------------------------- queue -> endpoints

    async def run_due(self, stopping: asyncio.Event) -> None:
        """Send due deliveries until ``stopping`` is set, then wait for those in flight.
        Cancelled (a worker shutting down), it cancels them instead: their leases run out
        and another scheduler sends them (the receiver deduplicates on ``webhook-id``)."""
        try:
            while not stopping.is_set():
                try:
                    claimed = await self.due_step()
                except StoreError as exc:
                    REDIS_ERRORS.labels("webhooks").inc()
                    log.warning("claiming due deliveries failed", error=str(exc))
                    await _wait(stopping, 1.0)
                    continue
                if not claimed:
                    await _wait(stopping, self._limits.poll_s)
        except asyncio.CancelledError:
            for task in list(self._tasks):
                task.cancel()
            raise
        await self.drain()

    async def due_step(self) -> int:
        """Claim what is due and free to send, start one task per delivery; answers how
        many started. Never waits for a send."""
        lim = self._limits
        claimed = await self._queue.claim(
            now_ms=self._now_ms(),
            lease_ms=int(lim.lease_s * 1000),
            limit=lim.total - len(self._tasks),
            per_endpoint=lim.per_endpoint,
            in_flight=dict(self._in_flight),
            per_department=lim.per_department,
            department_in_flight=dict(self._department_in_flight),
        )
        for queued in claimed:
            self._in_flight[queued.endpoint_id] += 1
            self._department_in_flight[queued.department] += 1
            task = asyncio.create_task(self._attempt(queued), name=f"deliver-{queued.id}")
            self._tasks.add(task)
            task.add_done_callback(functools.partial(self._forget, queued))
        return len(claimed)

    async def drain(self) -> None:
        """Wait for the deliveries in flight (each ends within its attempt deadline)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def _forget(self, queued: QueuedDelivery, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        for counter, key in (
            (self._in_flight, queued.endpoint_id),
            (self._department_in_flight, queued.department),
        ):
            counter[key] -= 1
            if counter[key] <= 0:
                del counter[key]
        if not task.cancelled() and task.exception() is not None:
            # The queue could not record the attempt: the lease runs out and it is retried.
            log.warning("recording a delivery failed", error=type(task.exception()).__name__)

    async def _attempt(self, queued: QueuedDelivery) -> None:
        try:
            endpoint = await self._endpoints.get(queued.endpoint_id)
        except StoreError as exc:  # Redis failed, or the secret cannot be opened
            log.warning(
                "reading a webhook endpoint failed",
                endpoint_id=queued.endpoint_id,
                error=type(exc).__name__,
            )
            await self._settle(queued, Outcome(OutcomeKind.RETRYABLE, Reason.INTERNAL))
            return
        if endpoint is None:
            await self._queue.finish(queued, now_ms=self._now_ms(), attempt=None)
            NOTIFICATION_ATTEMPTS.labels(
                self._notifier.name, DeliveryState.FAILED, Reason.ENDPOINT_GONE
            ).inc()
            return
        if endpoint.disabled_at is not None:  # it answered 410: kept as a dead letter
            await self._settle(queued, Outcome(OutcomeKind.PERMANENT, Reason.GONE))
            return
        delivery = Delivery(
            id=queued.id,
            endpoint_id=endpoint.id,
            url=endpoint.url,
            secret=endpoint.secret,
            body=queued.body.encode(),
            attempt=queued.attempts + 1,
        )
        try:
            async with asyncio.timeout(self._limits.attempt_deadline_s):
                outcome = await self._notifier.deliver(delivery)
        except TimeoutError:
            outcome = Outcome(OutcomeKind.RETRYABLE, Reason.TIMEOUT)
        except Exception as exc:  # a notifier bug must not lose the delivery
            log.error("notifier raised", notifier=self._notifier.name, error=type(exc).__name__)
            outcome = Outcome(OutcomeKind.RETRYABLE, Reason.INTERNAL)
        await self._settle(queued, outcome)

    async def _settle(self, queued: QueuedDelivery, outcome: Outcome) -> None:
        now = self._clock.now()
        now_ms = _ms(now)
        first = queued.first_attempt_ms or now_ms
        updated = queued.model_copy(
            update={"attempts": queued.attempts + 1, "first_attempt_ms": first}
        )
        next_ms: int | None = None
        if outcome.delivered:
            state = DeliveryState.DELIVERED
        elif outcome.retryable and not self._policy.gives_up(first, now_ms):
            state = DeliveryState.RETRYING
            delay = self._policy.delay_s(updated.attempts, self._rng, outcome.retry_after_s)
            next_ms = now_ms + int(delay * 1000)
        elif outcome.retryable:
            state = DeliveryState.DEAD_LETTERED
        else:
            state = DeliveryState.FAILED
        attempt = Attempt(
            delivery_id=queued.id,
            alert_id=queued.alert_id,
            revision=queued.revision,
            change=queued.change,
            attempt=updated.attempts,
            at=now,
            state=state,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            reason=outcome.reason,
            next_attempt_at=datetime.fromtimestamp(next_ms / 1000, UTC) if next_ms else None,
        )
        if outcome.reason is Reason.GONE and outcome.status_code == 410:
            await self._endpoints.set_disabled(queued.endpoint_id, now)
            log.warning(
                "webhook endpoint answered 410 Gone: disabled", endpoint_id=queued.endpoint_id
            )
        if next_ms is not None:
            await self._queue.retry(updated, at_ms=next_ms, attempt=attempt)
        else:
            await self._queue.finish(updated, now_ms=now_ms, attempt=attempt)
        self._observe(queued, outcome, state, now_ms)

    def _observe(
        self, queued: QueuedDelivery, outcome: Outcome, state: DeliveryState, now_ms: int
    ) -> None:
        name = self._notifier.name
        reason = outcome.reason.value if outcome.reason else ""
        NOTIFICATION_ATTEMPTS.labels(name, state.value, reason).inc()
        NOTIFICATION_SECONDS.labels(name).observe(outcome.latency_ms / 1000)
        if state is DeliveryState.DELIVERED:
            lag_s = max(0, now_ms - queued.enqueued_ms) / 1000
            NOTIFICATION_LAG_SECONDS.labels(name).observe(lag_s)
        if state is not DeliveryState.DELIVERED:
            log.info(
                "webhook delivery failed",
                endpoint_id=queued.endpoint_id,
                delivery_id=queued.id,
                state=state.value,
                outcome=outcome.describe(),
            )

    def _now_ms(self) -> int:
        return _ms(self._clock.now())


class _FeedTail(GroupTail):
    """The ``webhooks`` group's tail of the alert feed: a batch becomes queued deliveries."""

    def __init__(self, redis: Redis, group: StreamGroup, scheduler: DeliveryScheduler) -> None:
        super().__init__(redis, group, name="webhooks")
        self._scheduler = scheduler

    async def handle(self, entries: Sequence[Entry]) -> None:
        await self._scheduler.enqueue_changes(
            [(f[b"alert"], f.get(b"change", b"").decode()) for _, f in entries]
        )


def _feed_group(consumer: str, limits: Limits) -> StreamGroup:
    return StreamGroup(
        FEED_KEY,
        GROUP,
        consumer,
        start_id="$",
        batch=limits.feed_batch,
        block_ms=limits.feed_block_ms,
        claim_idle_ms=limits.feed_claim_idle_ms,
    )


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


async def _wait(stopping: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), timeout=seconds)
