"""Request body limits on every route, enforced while the body arrives.

An ASGI middleware in front of the application: a declared ``Content-Length`` over the
limit is answered 413 before any of the body is read; a body without one (chunked) is
counted chunk by chunk as the route reads it, and the first chunk past the limit ends the
request with 413, so no route ever holds more than the limit in memory. The unauthenticated
inbound webhook has a smaller limit of its own (:data:`INBOUND_PREFIX`).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.settings import Settings
from core.telemetry import API_REFUSED

INBOUND_PREFIX = "/api/v1/webhooks/inbound/"
SHADOW_PATH = "/api/v1/rules/shadow"  # a candidate rules file


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when the body passes its limit; FastAPI re-raises an
    ``HTTPException`` from body parsing as is, so the route answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _detail(limit), headers={"Connection": "close"})


def _detail(limit: int) -> str:
    return f"请求体超过上限 {limit} 字节"


@dataclass(frozen=True, slots=True)
class BodyLimits:
    default: int
    by_prefix: tuple[tuple[str, int], ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> BodyLimits:
        return cls(
            settings.api_max_body_bytes,
            (
                (INBOUND_PREFIX, settings.api_max_inbound_body_bytes),
                (SHADOW_PATH, settings.shadow_max_body_bytes),
            ),
        )

    def for_path(self, path: str) -> int:
        for prefix, limit in self.by_prefix:
            if path.startswith(prefix):
                return limit
        return self.default


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = orjson.dumps({"detail": _detail(limit)})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_path(scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            API_REFUSED.labels("body_too_large").inc()
            await _refuse(send, limit)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    API_REFUSED.labels("body_too_large").inc()
                    raise BodyTooLarge(limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(send, limit)


def limits_description(settings: Settings) -> str:
    """The API limits, for the OpenAPI document's description."""
    return (
        "**Limits.** Every request body is limited to "
        f"{settings.api_max_body_bytes} bytes ({settings.api_max_inbound_body_bytes} for "
        "`POST /api/v1/webhooks/inbound/{endpoint_id}`, "
        f"{settings.shadow_max_body_bytes} for `/api/v1/rules/shadow`), counted as it "
        "arrives, chunked or not: past it the answer is 413 before the rest is read. The "
        "query routes are rate "
        "limited per token and kind of query, per minute: `POST /api/v1/enterprises/batch` "
        f"{settings.rate_limit_batch_per_min}, `GET /api/v1/enterprises/{{uscc}}/related` "
        f"{settings.rate_limit_related_per_min}, `POST /api/v1/investigations/expand` "
        f"{settings.rate_limit_expand_per_min}, `POST /api/v1/inspections/draw` "
        f"{settings.rate_limit_draws_per_min}; past it the answer is 429 with `Retry-After` "
        "(seconds). `WS /ws/alerts` closes with 4403 within 10 s of the account's revocation."
    )
