"""Revocation reaches the live feed (real API process and Redis): a ticket taken before the
account was revoked no longer connects, and a revoked account's open sockets are closed
with 4403 within 10 s while a colleague's stay open."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from .api_kit import Accounts, Who, client

pytestmark = [pytest.mark.redis, pytest.mark.kafka]

CLOSE_REVOKED = 4403  # documented in README and api/routes/ws.py


def _board_url(base: str, who: Who) -> str:
    reply = httpx.post(f"{base}/api/v1/ws-tickets", headers=who.headers)
    reply.raise_for_status()
    return base.replace("http", "ws", 1) + f"/ws/alerts?ticket={reply.json()['ticket']}"


def _revoke(base: str, people: Accounts, who: Who) -> None:
    with client(base, people.oversight) as c:
        reply = c.post(f"/api/v1/accounts/{who.account_id}/revoke")
        assert reply.status_code == 200, reply.text


async def _heartbeats_until_closed(ws: Any, within_s: float) -> None:
    async with asyncio.timeout(within_s):
        while True:
            await ws.recv()


async def test_a_ticket_taken_before_revocation_does_not_connect(
    api_server: str, people: Accounts
) -> None:
    officer = people.make("samr", "duty_officer", "即将离职的值班员")
    url = _board_url(api_server, officer)
    _revoke(api_server, people, officer)
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(url) as ws:
            await asyncio.wait_for(ws.recv(), timeout=5)
    assert refused.value.response.status_code == 403


async def test_a_revoked_accounts_open_socket_is_closed_within_10_s(
    api_server: str, people: Accounts
) -> None:
    leaving = people.make("samr", "duty_officer", "被撤销的值班员")
    colleague = people.make("samr", "duty_officer", "仍在岗的值班员")
    async with (
        websockets.connect(_board_url(api_server, leaving)) as ws,
        websockets.connect(_board_url(api_server, colleague)) as other,
    ):
        await asyncio.to_thread(_revoke, api_server, people, leaving)
        revoked_at = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            await _heartbeats_until_closed(ws, within_s=15)
        took = time.monotonic() - revoked_at
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == CLOSE_REVOKED
        assert took < 10, f"closed {took:.1f} s after the revocation"
        assert other.close_code is None  # the colleague's board stays connected
