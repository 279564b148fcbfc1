"""The live feed outlives Redis: a Redis of the test's own is restarted under a running API
process; a board connected before the restart receives the alerts stored after it, and
``/readyz`` says the feed is down while it cannot read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets

from core.settings import Settings

from .api_kit import cli_token, new_alert, store_alert
from .conftest import Proc, isolated_settings, start_api
from .redis_server import RedisServer

pytestmark = [pytest.mark.redis, pytest.mark.kafka]


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def feed_api(
    services: dict[str, str], own_redis: RedisServer, logs_dir: Path
) -> Iterator[tuple[Settings, str, Proc]]:
    settings = isolated_settings(services, kind="feed", redis_url=own_redis.url)
    proc, base = start_api(settings, logs_dir / "api-feed-restart.log", RISKWIRE_WS_HEARTBEAT_S="2")
    yield settings, base, proc
    proc.stop()


def _board_url(base: str, token: str) -> str:
    reply = httpx.post(f"{base}/api/v1/ws-tickets", headers={"Authorization": f"Bearer {token}"})
    reply.raise_for_status()
    return base.replace("http", "ws", 1) + f"/ws/alerts?ticket={reply.json()['ticket']}"


async def _alert_arrives(ws: Any, alert_id: str, within_s: float) -> dict[str, Any]:
    async with asyncio.timeout(within_s):
        while True:
            message = orjson.loads(await ws.recv())
            if message["type"] == "alert" and message["alert"]["alert_id"] == alert_id:
                return dict(message)


async def _store_when_redis_answers(settings: Settings, departments: list[str]) -> str:
    """Store an alert, retrying while the restarted Redis still loads its file."""
    alert = new_alert(departments)
    deadline = time.monotonic() + 30
    while True:
        try:
            await store_alert(settings, alert)
            return alert.alert_id
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def _feed_ready(base: str) -> bool | None:
    async with httpx.AsyncClient(timeout=10) as c:
        body = (await c.get(f"{base}/readyz")).json()
    return body.get("feed")


async def test_a_board_connected_before_a_redis_restart_gets_the_alerts_after_it(
    feed_api: tuple[Settings, str, Proc], own_redis: RedisServer
) -> None:
    settings, base, proc = feed_api
    url = _board_url(base, cli_token(settings, "samr", "duty_officer"))
    async with websockets.connect(url) as ws:
        before = await _store_when_redis_answers(settings, ["samr"])
        await _alert_arrives(ws, before, within_s=20)

        own_redis.stop()
        await asyncio.sleep(4)  # the feed's reads fail meanwhile; the board stays connected
        assert await _feed_ready(base) is False, "readyz must say the feed is down"
        own_redis.start()

        after = await _store_when_redis_answers(settings, ["samr"])
        got = await _alert_arrives(ws, after, within_s=30)
        assert got["change"] == "created"
    assert proc.alive()
    assert await _feed_ready(base) is True


async def test_the_feed_recovers_when_the_api_started_during_a_redis_outage(
    services: dict[str, str], own_redis: RedisServer, logs_dir: Path
) -> None:
    """The feed's first read fails (Redis restarting as the API starts): the task must be
    restarted, not left dead while every board gets heartbeats and no alerts."""
    settings = isolated_settings(services, kind="feed", redis_url=own_redis.url)
    token = cli_token(settings, "samr", "duty_officer")
    own_redis.stop()
    proc, base = start_api(settings, logs_dir / "api-feed-outage.log", RISKWIRE_WS_HEARTBEAT_S="2")
    try:
        await asyncio.sleep(2)  # the feed's first reads fail
        assert await _feed_ready(base) is False
        own_redis.start()
        async with websockets.connect(_board_url(base, token)) as ws:
            alert_id = await _store_when_redis_answers(settings, ["samr"])
            await _alert_arrives(ws, alert_id, within_s=30)
        deadline = time.monotonic() + 30
        while not await _feed_ready(base):
            assert time.monotonic() < deadline, "readyz must say the feed is back"
            await asyncio.sleep(0.5)
    finally:
        proc.stop()
