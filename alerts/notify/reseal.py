"""``riskwire secrets reseal``: seal every stored webhook secret with the key ring's
current key, after a rotation (or to migrate values of the first format). An endpoint is
rewritten only if it is unchanged since it was read (one Lua compare-and-set), so a
concurrent edit is never overwritten; it is then picked up by the next run."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis

from alerts.notify.endpoints import ENDPOINTS_KEY
from alerts.notify.sealing import SecretBox
from core.errors import StoreError

_SWAP_LUA = """
-- KEYS: the endpoints hash. ARGV: endpoint id, the document read, the new document.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""


@dataclass
class ResealReport:
    resealed: int = 0
    current: int = 0
    changed_meanwhile: int = 0
    failed: list[str] = field(default_factory=list)  # endpoint ids that did not open


async def reseal(redis: Redis, box: SecretBox, *, key: str = ENDPOINTS_KEY) -> ResealReport:
    """Re-seal each endpoint's secret not sealed with ``box``'s current key."""
    report = ResealReport()
    swap = redis.register_script(_SWAP_LUA)
    stored: Any = await redis.hgetall(key)
    for raw_id, doc in stored.items():
        endpoint_id = raw_id.decode() if isinstance(raw_id, bytes) else raw_id
        data = orjson.loads(doc)
        sealed = str(data.get("sealed_secret", ""))
        if box.key_id(sealed) == box.sealing_key_id:
            report.current += 1
            continue
        try:
            secret = box.open(sealed, context=endpoint_id)
        except StoreError:
            report.failed.append(endpoint_id)
            continue
        data["sealed_secret"] = box.seal(secret, context=endpoint_id)
        if await swap(keys=[key], args=[endpoint_id, doc, orjson.dumps(data)]):
            report.resealed += 1
        else:
            report.changed_meanwhile += 1
    return report


def reseal_command(settings: Any) -> int:
    """Print what was done; exit 1 when a secret did not open (a key missing from the ring)."""
    from alerts.notify.wiring import secret_box
    from core.redis_client import redis_client

    async def run() -> ResealReport:
        redis = redis_client(settings.redis_url)
        try:
            return await reseal(redis, secret_box(settings))
        finally:
            await redis.aclose()

    report = asyncio.run(run())
    print(
        f"resealed {report.resealed}, already current {report.current}, "
        f"changed meanwhile {report.changed_meanwhile}, failed {len(report.failed)}"
    )
    for endpoint_id in report.failed:
        print(f"cannot open the secret of endpoint {endpoint_id}", file=sys.stderr)
    return 1 if report.failed else 0
