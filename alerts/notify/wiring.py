"""Building the notification objects from settings, for the API's lifespan
(:class:`NotifyStores`, as ``app.state.notify``) and the worker (:func:`build_scheduler`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis

from alerts.notify.deliveries import DeliveryScheduler, Limits
from alerts.notify.egress import EgressGuard, EgressPolicy
from alerts.notify.endpoints import EndpointStore
from alerts.notify.metrics import zero_series
from alerts.notify.queue import NAMESPACE, RedisDeliveryQueue
from alerts.notify.sealing import SecretBox
from alerts.notify.webhook import WebhookNotifier
from alerts.subscriptions import SubscriptionStore
from core.clock import Clock, SystemClock
from core.settings import Settings
from core.telemetry import get_logger

log = get_logger(__name__)


def secret_box(settings: Settings) -> SecretBox:
    """Endpoint secrets are sealed with the first of ``RISKWIRE_SEALING_KEYS`` and opened
    with any of them; values of the first format (keyed from the identity secret) still
    open, so that ``riskwire secrets reseal`` can migrate them."""
    return SecretBox.from_ring(
        settings.sealing_keys.get_secret_value(),
        legacy_secret=settings.identity_secret.get_secret_value().encode(),
    )


@dataclass(frozen=True)
class NotifyStores:
    clock: Clock
    subscriptions: SubscriptionStore
    endpoints: EndpointStore
    queue: RedisDeliveryQueue
    egress: EgressGuard = field(default_factory=EgressGuard)

    @classmethod
    def build(
        cls,
        redis: Redis,
        settings: Settings,
        clock: Clock,
        *,
        queue_namespace: str = NAMESPACE,
        egress: EgressGuard | None = None,
    ) -> NotifyStores:
        return cls(
            clock=clock,
            subscriptions=SubscriptionStore(
                redis, clock, max_per_department=settings.webhook_max_subscriptions
            ),
            endpoints=EndpointStore(
                redis,
                secret_box(settings),
                clock,
                max_per_department=settings.webhook_max_endpoints,
            ),
            queue=RedisDeliveryQueue(redis, namespace=queue_namespace),
            egress=egress or EgressGuard(EgressPolicy.from_settings(settings)),
        )


def limits_from(settings: Settings) -> Limits:
    """The scheduler's limits; a warning when the departments' shares exceed the total (one
    department could then wait for the others' slots)."""
    shares = settings.webhook_in_flight_per_department * len(settings.departments)
    if shares > settings.webhook_in_flight:
        log.warning(
            "webhook in-flight shares exceed the total: a department may wait for slots",
            per_department=settings.webhook_in_flight_per_department,
            departments=len(settings.departments),
            total=settings.webhook_in_flight,
        )
    return Limits(
        total=settings.webhook_in_flight,
        per_department=settings.webhook_in_flight_per_department,
        per_endpoint=settings.webhook_in_flight_per_endpoint,
    )


def build_scheduler(
    redis: Redis,
    settings: Settings,
    *,
    consumer: str,
    clock: Clock | None = None,
    egress: EgressGuard | None = None,
) -> DeliveryScheduler:
    """The webhook scheduler of one worker process (``consumer`` names it in the group)."""
    clock = clock or SystemClock()
    stores = NotifyStores.build(redis, settings, clock, egress=egress)
    limits = limits_from(settings)
    notifier = WebhookNotifier(clock, egress=stores.egress, max_connections=limits.total)
    zero_series(notifier.name)
    return DeliveryScheduler(
        stores.queue,
        stores.endpoints,
        stores.subscriptions,
        notifier,
        clock,
        redis=redis,
        consumer=consumer,
        limits=limits,
    )
