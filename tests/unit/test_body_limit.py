"""The body-size middleware on a scripted ASGI exchange: a declared length over the limit
is refused before the application runs, a body without one is cut off at the first chunk
past the limit, the inbound webhook has its own limit, and what fits passes untouched."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from api.body_limit import INBOUND_PREFIX, BodyLimitMiddleware, BodyLimits, BodyTooLarge

LIMITS = BodyLimits(1000, ((INBOUND_PREFIX, 100),))


def _scope(path: str, length: int | None = None) -> Scope:
    headers = [(b"content-length", str(length).encode())] if length is not None else []
    return {"type": "http", "method": "POST", "path": path, "headers": headers}


class Exchange:
    """Feeds ``chunks`` as the client's body (never the last one: the body goes on) and
    records what the server sends and how much the application read."""

    def __init__(self, chunks: int, size: int) -> None:
        self.left, self.size = chunks, size
        self.sent: list[Message] = []
        self.read = 0

    async def receive(self) -> Message:
        self.left -= 1
        return {"type": "http.request", "body": b"x" * self.size, "more_body": True}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int | None:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        return int(starts[0]["status"]) if starts else None


def reading_app(exchange: Exchange) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while exchange.left > 0:
            exchange.read += len((await receive())["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


async def _posted(exchange: Exchange, scope: Scope) -> Exchange:
    """``exchange`` once the limits have let the app read it, or refused it, for ``scope``."""
    await BodyLimitMiddleware(reading_app(exchange), LIMITS)(scope, exchange.receive, exchange.send)
    return exchange


async def test_a_declared_length_over_the_limit_is_refused_before_the_app_runs() -> None:
    scope = _scope("/api/v1/enterprises/batch", 5000)
    exchange = await _posted(Exchange(chunks=50, size=100), scope)
    assert exchange.status == 413
    assert exchange.read == 0


async def test_a_body_without_length_is_cut_off_at_the_first_chunk_past_the_limit() -> None:
    exchange = Exchange(chunks=1_000_000, size=300)  # ~300 MB if read to the end
    await _posted(exchange, _scope("/api/v1/enterprises/batch"))
    assert exchange.status == 413
    assert exchange.read == 900  # three chunks read; the fourth passed the limit
    assert exchange.left == 1_000_000 - 4


async def test_the_inbound_webhook_has_its_own_smaller_limit() -> None:
    exchange = await _posted(Exchange(chunks=2, size=60), _scope(INBOUND_PREFIX + "EP1"))
    assert exchange.status == 413
    fits = await _posted(Exchange(chunks=2, size=60), _scope("/api/v1/alerts/A1/resolve", 120))
    assert fits.status == 200
    assert fits.read == 120


async def test_past_the_limit_after_the_answer_began_the_error_propagates() -> None:
    exchange = Exchange(chunks=10, size=600)

    async def streams_first(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while True:
            await receive()

    middleware = BodyLimitMiddleware(streams_first, LIMITS)
    with pytest.raises(BodyTooLarge):
        await middleware(_scope("/x"), exchange.receive, exchange.send)
    assert exchange.status == 200  # no second response start
