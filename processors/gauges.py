"""Gauges read from Redis every few seconds by each worker's timer: what is waiting (the
relays' feeds not yet on Kafka, webhook deliveries not yet made, per department), the
open alerts, and the shared early-warning model's quality. Every worker measures the same
figures, so dashboards and rules take their ``max`` over workers."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from alerts.notify.wiring import NotifyStores
from alerts.relay import GROUP as RELAY_GROUP
from alerts.store import FEED_KEY as ALERT_FEED
from alerts.store import OPEN_KEY
from core.clock import Clock
from core.telemetry import (
    ALERTS_OPEN,
    MODEL_AUC,
    MODEL_LEARNED,
    RELAY_BACKLOG,
    WEBHOOK_OLDEST_DUE,
    WEBHOOK_QUEUE_DEPTH,
)
from processors.grades import FEED_KEY as GRADE_FEED

# When Redis cannot say a group's lag (entries were trimmed or deleted), count at most this
# many entries after the group's last delivered one.
LAG_COUNT_CAP = 10_000


def _field(info: dict[Any, Any], name: str) -> Any:
    return info.get(name, info.get(name.encode()))


async def relay_backlog(redis: Redis, stream: str, group: str) -> int:
    """Entries of ``stream`` not yet delivered to ``group``, plus those delivered but not
    acknowledged (published to Kafka is acknowledged)."""
    try:
        groups: Any = await redis.xinfo_groups(stream)
    except ResponseError:  # no stream yet: nothing waits
        return 0
    for info in groups:
        name = _field(info, "name")
        if (name.decode() if isinstance(name, bytes) else name) != group:
            continue
        pending = int(_field(info, "pending") or 0)
        lag = _field(info, "lag")
        if lag is None:
            last = _field(info, "last-delivered-id")
            last = last.decode() if isinstance(last, bytes) else last
            rows: Any = await redis.xrange(stream, min=f"({last}", max="+", count=LAG_COUNT_CAP)
            lag = len(rows)
        return pending + int(lag)
    return 0  # the group is created by the relay's first run


async def measure_relays(redis: Redis, relays: dict[str, tuple[str, str]]) -> None:
    """``relays``: relay label -> (stream, group)."""
    for label, (stream, group) in relays.items():
        RELAY_BACKLOG.labels(label).set(await relay_backlog(redis, stream, group))


async def measure_webhooks(stores: NotifyStores, departments: Collection[str], now_ms: int) -> None:
    """Deliveries waiting and the longest overdue wait, per department (deliveries of a
    deleted endpoint are dropped when due and counted nowhere)."""
    waiting = await stores.queue.waiting()
    owners = await stores.endpoints.endpoint_ids(departments)
    for department in departments:
        mine = [waiting[ep] for ep in owners.get(department, []) if ep in waiting]
        WEBHOOK_QUEUE_DEPTH.labels(department).set(sum(n for n, _ in mine))
        earliest = min((due for _, due in mine), default=now_ms)
        WEBHOOK_OLDEST_DUE.labels(department).set(max(0, now_ms - earliest) / 1000)


async def measure_model(redis: Redis, model_key: str) -> None:
    """The checkpoint's prequential AUC and how many labels it learned."""
    n, auc = await redis.hmget(model_key, ["n", "auc"])
    MODEL_LEARNED.set(int(n or 0))
    MODEL_AUC.set(float(auc) if auc else float("nan"))


async def measure_waiting(
    redis: Redis, stores: NotifyStores, departments: Collection[str], clock: Clock
) -> None:
    """Both relays' backlogs, the webhook queue per department, the open alerts."""
    ALERTS_OPEN.set(await redis.hlen(OPEN_KEY))
    await measure_relays(
        redis, {"alerts": (ALERT_FEED, RELAY_GROUP), "grades": (GRADE_FEED, RELAY_GROUP)}
    )
    await measure_webhooks(stores, departments, int(clock.now().timestamp() * 1000))
