"""Collision analysis on the Redis profile store gives what it gives on the memory store.

The same registrations go through a :class:`BatchProcessor` on Redis (the session's
database, fresh enterprise ids and addresses, so nothing need be flushed) and one on
memory. The processors run no rules, so nothing reaches the session's alert feed.
"""

from __future__ import annotations

import itertools
import random
import uuid
from typing import Any

import pytest

from alerts.memory import MemoryAlertStore
from alerts.store import AlertStore
from core.redis_client import redis_client
from core.settings import Settings
from processors.profiles.memory import MemoryProfileStore
from processors.profiles.redis import RedisProfileStore
from rules.engine import RuleEngine
from rules.investigation import expand, related
from simulate.factory import EventFactory
from streams.codec import Decoder
from streams.profile_store import ProfileStore

from ..unit.pipeline_kit import T0, Feeder, processor

pytestmark = [pytest.mark.redis]


async def feed(store: ProfileStore, alerts: Any, decoder: Decoder, events: list[Any]) -> None:
    report = await Feeder(
        processor(decoder, store=store, alerts=alerts, engine=RuleEngine([]))
    ).feed(*events)
    assert report.applied == len(events)


def ring(f: EventFactory) -> tuple[str, list[dict[str, Any]]]:
    """A seed, enterprises tied to it in every way, a second hop and a crowded address."""
    run, serial = random.randrange(10**8), itertools.count(1)

    def company(address: str | None = None, phone: str | None = None, **kw: Any) -> Any:
        n = next(serial)
        ev = f.registered(address=address or f"福田区测试{run}路{n}号", time=T0, **kw)
        ev["data"]["phone"] = phone or f"1{run:08d}{n:02d}"
        return ev

    rep, director, holder, other = f.person(), f.person("director"), f.person(), f.person()
    owner = company()
    shared_address, shared_phone = f"南山区前湾{run}路1号", f"0755-{run:08d}"
    seed = company(shared_address, shared_phone, legal_rep=rep, officers=[director])
    seed["data"]["shareholders"] += [
        {"holder_type": "person", "name": holder["name"], "stake_pct": 10.0, "person": holder},
        {"holder_type": "enterprise", "name": "控股", "stake_pct": 30.0, "uscc": owner["subject"]},
    ]
    return seed["subject"], [
        owner,
        seed,
        *[company(shared_address) for _ in range(4)],
        company(phone=shared_phone, legal_rep=other),
        company(legal_rep=other),  # the second hop
        company(legal_rep=rep),
        company(officers=[director]),
        company(officers=[{**rep, "role": "director"}]),
        company(officers=[{**holder, "role": "director"}]),
        company(),  # unrelated
    ]


async def test_expand_on_redis_matches_the_memory_store(
    settings: Settings, decoder: Decoder
) -> None:
    f = EventFactory(source=f"it-{uuid.uuid4().hex[:10]}", seed=random.randrange(1 << 30))
    seed, events = ring(f)
    memory = MemoryProfileStore()
    await feed(memory, MemoryAlertStore(), decoder, events)
    client = redis_client(settings.redis_url)
    try:
        on_redis = RedisProfileStore(client)
        await feed(on_redis, AlertStore(client), decoder, events)
        one = await expand(on_redis, [seed])
        assert {link.kind for c in one for link in c.links} == {
            "address",
            "phone",
            "legal_rep",
            "officer",
            "shareholder",
        }
        assert len(one) == 10  # 4 at the address, 1 by phone, 5 by people and shares
        assert one == await expand(memory, [seed])
        two = await expand(on_redis, [seed], hops=2)
        assert sorted(c.hops for c in two) == [1] * 10 + [2]
        assert two == await expand(memory, [seed], hops=2)
        capped = await expand(on_redis, [seed], hops=2, hub_cap=3, limit=5)
        assert capped == await expand(memory, [seed], hops=2, hub_cap=3, limit=5)
        assert await related(on_redis, seed) == await related(memory, seed)
    finally:
        await client.aclose()
