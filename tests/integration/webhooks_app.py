"""A FastAPI app with the subscription and webhook routers and the app.state objects that
``api.app.create_app`` gives them (until the lead includes them there), called in-process
through ``httpx.ASGITransport``."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from redis.asyncio import Redis

from alerts.notify.egress import EgressGuard
from alerts.notify.queue import NAMESPACE
from alerts.notify.wiring import NotifyStores
from alerts.store import AlertStore
from api.accounts import Accounts
from api.routes import alerts, subscriptions, webhooks
from core.clock import Clock
from core.settings import Settings


def webhooks_app(
    settings: Settings,
    redis: Redis,
    clock: Clock,
    *,
    queue_namespace: str = NAMESPACE,
    egress: EgressGuard | None = None,
) -> FastAPI:
    app = FastAPI()
    app.state.settings = settings
    app.state.redis = redis
    app.state.accounts = Accounts(redis)
    app.state.alert_store = AlertStore(redis, feed_maxlen=settings.feed_maxlen)
    app.state.notify = NotifyStores.build(
        redis, settings, clock, queue_namespace=queue_namespace, egress=egress
    )
    app.include_router(subscriptions.router)
    app.include_router(webhooks.router)
    app.include_router(alerts.router)
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://riskwire")
