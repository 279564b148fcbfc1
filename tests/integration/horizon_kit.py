"""What the replay-horizon and profile-encoding tests share: a processor on the session's
Redis stores whose clock the test moves (:class:`Worker`), and an event factory of fresh
sources and enterprise ids for each test."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from redis.asyncio import Redis

from core.clock import FakeClock
from core.redis_client import redis_client
from processors.grades import GradeStore
from processors.profiles.codec import decode
from processors.profiles.redis import RedisProfileStore, doc_key, seen_key
from rules.engine import RuleEngine
from simulate.factory import EventFactory
from streams.codec import Decoder
from streams.profile import EnterpriseProfile
from streams.profile_store import EntityRef

from ..unit.pipeline_kit import T0, CollectedLetters, Feeder, processor

HORIZON = timedelta(days=35)
PAST = HORIZON + timedelta(hours=2)  # the horizon counts whole hours: one more is enough


class Worker(Feeder):
    """A processor on the Redis stores whose clock the test moves."""

    def __init__(self, redis: Redis, decoder: Decoder, clock: FakeClock) -> None:
        self.redis = redis
        self.clock = clock
        self.dlq = CollectedLetters()
        store = RedisProfileStore(redis, clock=clock, replay_horizon=HORIZON)
        super().__init__(
            processor(
                decoder,
                store=store,
                grades=GradeStore(redis),
                engine=RuleEngine([]),  # the state under test is the profiles' and grades'
                dead_letters=self.dlq,
                clock=clock,
            )
        )

    async def profile(self, uscc: str) -> EnterpriseProfile:
        doc = await self.redis.hget(doc_key(EntityRef("ent", uscc)), "doc")
        return EnterpriseProfile.model_validate_json(decode(doc))

    async def remembered(self, uscc: str) -> int:
        return int(await self.redis.zcard(seen_key(EntityRef("ent", uscc))))


@asynccontextmanager
async def redis_worker(url: str, decoder: Decoder) -> AsyncIterator[Worker]:
    """A :class:`Worker` on a client of its own, its clock at ``T0``; the client is closed
    when the block ends."""
    client = redis_client(url)
    try:
        yield Worker(client, decoder, FakeClock(T0))
    finally:
        await client.aclose()


def fresh_events(prefix: str) -> EventFactory:
    """Events of a source no other test uses, from a random seed."""
    return EventFactory(source=f"{prefix}-{uuid.uuid4().hex[:10]}", seed=random.randrange(1 << 30))
