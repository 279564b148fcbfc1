"""Building the notification objects from settings, for the API's lifespan
(:class:`NotifyStores`, as ``app.state.notify``) and the worker (:func:`build_scheduler`)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from alerts.notify.deliveries import DEFAULT_LIMITS, DeliveryScheduler, Limits
from alerts.notify.endpoints import EndpointStore
from alerts.notify.queue import NAMESPACE, RedisDeliveryQueue
from alerts.notify.sealing import SecretBox
from alerts.notify.webhook import WebhookNotifier
from alerts.subscriptions import SubscriptionStore
from core.clock import Clock, SystemClock
from core.settings import Settings


def secret_box(settings: Settings) -> SecretBox:
    """Endpoint secrets are sealed with a key derived from the deployment secret."""
    return SecretBox(settings.identity_secret.get_secret_value().encode())


@dataclass(frozen=True)
class NotifyStores:
    clock: Clock
    subscriptions: SubscriptionStore
    endpoints: EndpointStore
    queue: RedisDeliveryQueue

    @classmethod
    def build(
        cls, redis: Redis, settings: Settings, clock: Clock, *, queue_namespace: str = NAMESPACE
    ) -> NotifyStores:
        return cls(
            clock=clock,
            subscriptions=SubscriptionStore(redis, clock),
            endpoints=EndpointStore(redis, secret_box(settings), clock),
            queue=RedisDeliveryQueue(redis, namespace=queue_namespace),
        )


def build_scheduler(
    redis: Redis,
    settings: Settings,
    *,
    consumer: str,
    clock: Clock | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> DeliveryScheduler:
    """The webhook scheduler of one worker process (``consumer`` names it in the group)."""
    clock = clock or SystemClock()
    stores = NotifyStores.build(redis, settings, clock)
    return DeliveryScheduler(
        stores.queue,
        stores.endpoints,
        stores.subscriptions,
        WebhookNotifier(clock, max_connections=limits.total),
        clock,
        redis=redis,
        consumer=consumer,
        limits=limits,
    )
