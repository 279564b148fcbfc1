"""``WS /ws/alerts?ticket=…&since=…``: the caller's department's live alert feed.

Messages are JSON objects with a ``type``:

- ``{"type": "alert", "seq": n, "change": "created"|"new_evidence"|"status", "alert": {…}}``
- ``{"type": "heartbeat", "seq": n, "time": "…"}``, every few seconds when idle
- ``{"type": "gap", "oldest_seq": n}`` when ``since`` is older than the replay buffer
  (reload ``GET /api/v1/alerts``, then resume from ``oldest_seq``)

Close codes: 4401 for a missing, used, expired or revoked account's ticket (the account is
read again when the ticket is redeemed); 4008 for a client that does not keep up (it may
resume with ``since``); 4403 when the account is revoked while connected: every socket
re-reads its account every ``RISKWIRE_WS_ACCOUNT_CHECK_S`` (5 s), so a revoked account's
sockets close within 10 s. While Redis cannot answer that check the socket stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from redis.exceptions import RedisError

from api.accounts import Accounts
from api.feed import Broadcaster, FeedEntry
from core.errors import AuthError
from core.settings import Settings
from core.telemetry import REDIS_ERRORS, WS_CLIENTS, WS_DROPPED, get_logger

log = get_logger(__name__)

router = APIRouter(tags=["live feed"])

CLOSE_UNAUTHORIZED = 4401
CLOSE_SLOW = 4008
CLOSE_REVOKED = 4403


@router.websocket("/ws/alerts")
async def alerts_feed(
    websocket: WebSocket, ticket: str | None = None, since: int | None = None
) -> None:
    accounts: Accounts = websocket.app.state.accounts
    settings: Settings = websocket.app.state.settings
    try:
        account = await accounts.redeem_ticket(ticket)
    except AuthError as exc:
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason=str(exc))
        return
    await websocket.accept()
    WS_CLIENTS.inc()
    serve = asyncio.create_task(_serve(websocket, account.department, since, settings))
    watch = asyncio.create_task(
        _until_revoked(accounts, account.account_id, settings.ws_account_check_s)
    )
    try:
        await asyncio.wait({serve, watch}, return_when=asyncio.FIRST_COMPLETED)
        if serve.done():
            serve.result()  # a failure other than the client leaving propagates
        else:
            await _cancel(serve)
            WS_DROPPED.labels("revoked").inc()
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await websocket.close(code=CLOSE_REVOKED, reason="account revoked")
    finally:
        await _cancel(serve)
        await _cancel(watch)
        WS_CLIENTS.dec()


async def _serve(
    websocket: WebSocket, department: str, since: int | None, settings: Settings
) -> None:
    """Replay what the client missed, then stream live until it leaves or falls behind."""
    broadcaster: Broadcaster = websocket.app.state.broadcaster
    sub = broadcaster.subscribe(department)
    try:
        last = await _replay(websocket, broadcaster, department, since)
        broadcaster.hold_from(last)
        await _live(websocket, sub.queue, sub.dropped, last, settings.ws_heartbeat_s)
    except WebSocketDisconnect:
        pass
    finally:
        broadcaster.unsubscribe(sub)


async def _until_revoked(accounts: Accounts, account_id: str, every_s: float) -> None:
    """Return once the account is revoked or gone; a check Redis cannot answer is retried."""
    while True:
        await asyncio.sleep(every_s)
        try:
            if not await accounts.active(account_id):
                return
        except RedisError as exc:
            REDIS_ERRORS.labels("ws_account_check").inc()
            log.warning("account check failed", error=str(exc))


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def _replay(
    websocket: WebSocket, broadcaster: Broadcaster, department: str, since: int | None
) -> int:
    """Send what the client missed; the live queue already buffers what arrives meanwhile."""
    if since is None:
        return await broadcaster.current_seq()
    oldest = await broadcaster.oldest_seq()
    if oldest is not None and since + 1 < oldest:
        await websocket.send_text(orjson.dumps({"type": "gap", "oldest_seq": oldest}).decode())
    last = since
    async for entry in broadcaster.backlog(since):
        last = entry.seq
        if entry.visible_to(department):
            await websocket.send_text(entry.message().decode())
    return last


async def _live(
    websocket: WebSocket,
    queue: asyncio.Queue[FeedEntry],
    dropped: asyncio.Event,
    last: int,
    heartbeat_s: float,
) -> None:
    receiver = asyncio.create_task(_drain_client(websocket))
    try:
        while not receiver.done():
            if dropped.is_set():
                await websocket.close(code=CLOSE_SLOW, reason="too slow: resume with ?since=")
                return
            try:
                entry = await asyncio.wait_for(queue.get(), timeout=heartbeat_s)
            except TimeoutError:
                beat = {"type": "heartbeat", "seq": last, "time": datetime.now(UTC).isoformat()}
                await _send(websocket, orjson.dumps(beat).decode(), heartbeat_s)
                continue
            if entry.seq <= last:
                continue  # already sent from the replay buffer
            last = entry.seq
            await _send(websocket, entry.message().decode(), heartbeat_s)
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiver


async def _send(websocket: WebSocket, text: str, limit_s: float) -> None:
    """A send that a stalled client cannot hold up forever."""
    try:
        await asyncio.wait_for(websocket.send_text(text), timeout=limit_s)
    except TimeoutError:
        WS_DROPPED.labels("send_timeout").inc()
        raise WebSocketDisconnect(code=CLOSE_SLOW) from None


async def _drain_client(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so a disconnect is noticed at once."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()
