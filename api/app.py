"""``create_app``: the FastAPI application, its lifespan and its routers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from redis.asyncio import Redis
from redis.exceptions import RedisError

from alerts.feed import AlertFeed
from alerts.notify.wiring import NotifyStores
from alerts.store import AlertStore
from alerts.subscriptions import SubscriptionCache, SubscriptionStore
from api.accounts import Accounts
from api.audit import AuditLog
from api.audit_anchor import AnchorPublisher
from api.body_limit import BodyLimitMiddleware, BodyLimits, limits_description
from api.draw_store import DrawStore
from api.feed import Broadcaster
from api.inspectors import Rosters
from api.rate_limit import RateLimiter, limits_from_settings
from api.routes import (
    accounts,
    alerts,
    audit,
    enforcement,
    enterprises,
    health,
    inspections,
    inspectors,
    investigations,
    metrics,
    rules,
    shadow,
    subscriptions,
    tickets,
    webhooks,
    ws,
)
from api.routes.enforcement import UploadProducer
from api.schemas import errors
from core.clock import SystemClock
from core.errors import AuthError, Forbidden, StoreError
from core.settings import Settings
from core.supervise import supervise
from core.telemetry import announce_build, get_logger
from processors.grades import GradeStore
from processors.profiles.redis import RedisProfileStore
from processors.runtime import redis_client
from rules.live import LiveRules, rules_config_from_settings
from rules.shadow_store import ShadowRules

log = get_logger(__name__)


def create_app(settings: Settings) -> FastAPI:
    announce_build()
    app = FastAPI(
        title="riskwire",
        version="0.1.0",
        summary="Streaming risk alerts for market regulators",
        description=limits_description(settings),
        responses=errors(413),
        lifespan=_lifespan(settings),
    )
    for router in (
        health.router,
        metrics.router,
        tickets.router,
        alerts.router,
        subscriptions.router,
        webhooks.router,
        ws.router,
        accounts.router,
        audit.router,
        enterprises.router,
        investigations.router,
        inspectors.router,
        inspections.router,
        enforcement.router,
        shadow.router,  # before rules.router: /rules/shadow is not a rule id
        rules.router,
    ):
        app.include_router(router)
    app.add_middleware(BodyLimitMiddleware, limits=BodyLimits.from_settings(settings))
    _answer_errors(app)
    _serve_board(app)
    return app


def _lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """What the app holds while it serves: its stores and clients in ``app.state``, the live
    feed's tail and the audit anchor's publisher, stopped and closed at shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = redis_client(settings)
        anchor = _hold_state(app, settings, redis)
        tail = asyncio.create_task(
            supervise("feed-tail", app.state.broadcaster.run), name="feed-tail"
        )
        anchoring = asyncio.create_task(anchor.run(), name="audit-anchor")
        try:
            yield
        finally:
            anchoring.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await anchoring
            await anchor.close()
            tail.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tail
            await app.state.uploads.close()
            await redis.aclose()

    return lifespan


def _hold_state(app: FastAPI, settings: Settings, redis: Redis) -> AnchorPublisher:
    """Every store and client the routes read from ``app.state``; answers the audit
    anchor's publisher, which the lifespan runs and closes."""
    app.state.settings = settings
    app.state.redis = redis
    app.state.accounts = Accounts(redis)
    app.state.alert_store = AlertStore(redis, feed_maxlen=settings.feed_maxlen)
    clock = SystemClock()
    app.state.broadcaster = Broadcaster(
        AlertFeed(redis),
        queue_size=settings.ws_send_queue,
        subscriptions=SubscriptionCache(
            SubscriptionStore(redis, clock), clock, settings.departments
        ),
    )
    app.state.rate_limiter = RateLimiter(redis, clock, limits_from_settings(settings))
    anchor = AnchorPublisher(settings)
    app.state.audit = AuditLog(
        redis, key=settings.audit_key.get_secret_value().encode(), anchor=anchor
    )
    app.state.profiles = RedisProfileStore(redis)
    app.state.grades = GradeStore(redis, feed_maxlen=settings.feed_maxlen)
    app.state.live_rules = LiveRules(redis, rules_config_from_settings(settings))
    app.state.shadow_rules = ShadowRules(redis, app.state.live_rules.base)
    app.state.draws = DrawStore(redis)
    app.state.rosters = Rosters(redis)
    app.state.uploads = UploadProducer(settings)
    app.state.notify = NotifyStores.build(redis, settings, SystemClock())
    return anchor


def _answer_errors(app: FastAPI) -> None:
    """The error hierarchy's answers: 403, 503 (Redis unavailable) and 401. A Redis error
    no store wrapped is still Redis unavailable: 503 with the same text, not a 500."""

    @app.exception_handler(Forbidden)
    async def forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(StoreError)
    @app.exception_handler(RedisError)
    async def store_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("redis unavailable", path=request.url.path, error=str(exc)[:300])
        return JSONResponse({"detail": "Redis暂时不可用，请稍后重试"}, status_code=503)

    @app.exception_handler(AuthError)
    async def unauthorized(_: Request, exc: AuthError) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )


def _serve_board(app: FastAPI) -> None:
    """The officers' board: its page at ``/`` and its script, plain ES modules
    (``api/static/board/*.js``, ``main.js`` first), under ``/board/`` as they are."""
    static = resources.files("api").joinpath("static")
    board = static.joinpath("board.html").read_text(encoding="utf-8")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(board)

    app.mount("/board", StaticFiles(directory=str(static.joinpath("board"))), name="board")
