"""Webhook secrets at rest on the real Redis, through a key rotation: endpoints sealed with
the old key still deliver after the new key is put first; ``riskwire secrets reseal``
moves every secret to the new key (values of the first format included), after which the
old key can be dropped; a secret that no key opens is reported, never overwritten."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import orjson
import pytest
from redis.asyncio import Redis
from ulid import ULID

from alerts.notify.endpoints import EndpointStore
from alerts.notify.reseal import reseal
from alerts.notify.sealing import SecretBox
from alerts.notify.wiring import secret_box
from core.clock import SystemClock
from core.redis_client import redis_client
from core.settings import Settings

from ..unit.test_sealing import legacy_seal
from .api_kit import cli

pytestmark = [pytest.mark.redis]

OLD = "old:" + "o" * 40
NEW = "new:" + "n" * 40
IDENTITY = b"riskwire-identity-secret-of-test"


async def _put(redis: Redis, key: str, sealed_by: Callable[[str], str]) -> str:
    """One endpoint document, as EndpointStore writes it, with ``sealed_by(id)``."""
    endpoint_id = str(ULID())
    doc = {
        "id": endpoint_id,
        "department": "samr",
        "url": f"https://hook.example/{endpoint_id}",
        "created_at": "2026-03-02T10:00:00Z",
        "sealed_secret": sealed_by(endpoint_id),
    }
    await redis.hset(key, endpoint_id, orjson.dumps(doc))
    return endpoint_id


async def _opened(redis: Redis, key: str, box: SecretBox) -> dict[str, str]:
    stored = await redis.hgetall(key)
    return {
        k.decode(): box.open(orjson.loads(v)["sealed_secret"], context=k.decode())
        for k, v in stored.items()
    }


async def test_a_rotation_reseals_every_secret_and_the_old_key_can_go(redis: Redis) -> None:
    key = f"rw:wh:endpoints:test-{ULID()}"
    old = SecretBox.from_ring(OLD)
    ids = [await _put(redis, key, lambda i: old.seal(SECRET, context=i)) for _ in range(3)]
    ids.append(await _put(redis, key, lambda i: legacy_seal(IDENTITY, SECRET, i)))
    try:
        rotated = SecretBox.from_ring(f"{NEW},{OLD}", legacy_secret=IDENTITY)
        assert await _opened(redis, key, rotated) == dict.fromkeys(ids, SECRET)
        report = await reseal(redis, rotated, key=key)
        assert (report.resealed, report.current, report.failed) == (4, 0, [])
        assert (await reseal(redis, rotated, key=key)).current == 4  # idempotent
        assert await _opened(redis, key, SecretBox.from_ring(NEW)) == dict.fromkeys(ids, SECRET)
        stored = await redis.hvals(key)
        assert all(orjson.loads(d)["sealed_secret"].startswith("v2.new.") for d in stored)
    finally:
        await redis.delete(key)


async def test_a_secret_no_key_opens_is_reported_and_left_alone(redis: Redis) -> None:
    key = f"rw:wh:endpoints:test-{ULID()}"
    old = SecretBox.from_ring(OLD)
    endpoint_id = await _put(redis, key, lambda i: old.seal(SECRET, context=i))
    sealed_before = await redis.hget(key, endpoint_id)
    try:
        report = await reseal(redis, SecretBox.from_ring(NEW), key=key)
        assert (report.resealed, report.failed) == (0, [endpoint_id])
        assert await redis.hget(key, endpoint_id) == sealed_before
    finally:
        await redis.delete(key)


def test_the_reseal_command_moves_the_deployments_secrets(settings: Settings) -> None:
    async def make() -> str:
        client = redis_client(settings.redis_url)
        try:
            store = EndpointStore(client, secret_box(settings), SystemClock())
            return (await store.create("court", "https://hook.example/cmd")).id
        finally:
            await client.aclose()

    endpoint_id = asyncio.run(make())
    ours = settings.sealing_keys.get_secret_value()
    ring = f"cmd:{'c' * 40},{ours}"
    done = cli(settings, "secrets", "reseal", check=False, RISKWIRE_SEALING_KEYS=ring)
    assert done.returncode == 0, done.stderr
    assert "failed 0" in done.stdout

    async def sealed_with() -> str:
        client = redis_client(settings.redis_url)
        try:
            raw = await client.hget("rw:wh:endpoints:v1", endpoint_id)
            return str(orjson.loads(raw or b"{}")["sealed_secret"]).split(".")[1]
        finally:
            await client.aclose()

    assert asyncio.run(sealed_with()) == "cmd"
    back = cli(settings, "secrets", "reseal", RISKWIRE_SEALING_KEYS=f"{ours},cmd:{'c' * 40}")
    assert "failed 0" in back.stdout  # the session's other tests use the session's key
    assert asyncio.run(sealed_with()) == ours.split(":")[0]


SECRET = "whsec_" + "c2VhbGluZy1zdWl0ZS1zZWNyZXQtMjRieQ=="
