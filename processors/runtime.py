"""The objects one worker process shares: Redis, the stores, the rule engine, the processor.

Built once from :class:`~core.settings.Settings` at startup, so the faust wiring in
``processors.app`` stays a few lines and tests can build a runtime without faust.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from alerts.store import AlertStore
from core.clock import Clock, SystemClock
from core.redis_packing import pack_with_hiredis
from core.redis_timing import TimedRedis
from core.settings import Settings
from processors.freshness import SourceFreshness
from processors.grades import GradeStore
from processors.pipeline import BatchProcessor, DeadLetterSink
from processors.profiles.redis import RedisProfileStore
from processors.shadow import ShadowLane
from rules.base import Rule
from rules.early_warning import EarlyWarning
from rules.engine import RuleEngine
from rules.live import rules_config_from_settings
from rules.models.checkpoint import ModelStore
from streams.codec import Decoder
from streams.identifiers import PersonKeyer
from streams.schemas.common import Family


def topic_families(settings: Settings) -> dict[str, Family]:
    return {
        settings.topic_registration: Family.REGISTRATION,
        settings.topic_court: Family.COURT,
        settings.topic_tax: Family.TAX,
        settings.topic_enforcement: Family.ENFORCEMENT,
    }


def redis_client(settings: Settings) -> Redis:
    """The Redis client every riskwire process uses.

    No per-reply socket timeout: redis-py arms an asyncio timer for every reply when one is
    set, which cost about a third of the client's CPU per command on the worker's hot path.
    A dead peer is still found by TCP keepalive and the periodic health check, and a
    connection attempt still times out. Commands are packed by hiredis
    (:mod:`core.redis_packing`) and timed (:mod:`core.redis_timing`)."""
    redis = TimedRedis.from_url(
        settings.redis_url,
        decode_responses=False,
        health_check_interval=30,
        socket_keepalive=True,
        socket_timeout=None,
        socket_connect_timeout=5,
    )
    return pack_with_hiredis(redis)


@dataclass
class Runtime:
    settings: Settings
    redis: Redis
    profiles: RedisProfileStore
    alerts: AlertStore
    grades: GradeStore
    models: ModelStore
    engine: RuleEngine
    processor: BatchProcessor
    sources: SourceFreshness
    shadow: ShadowLane

    @classmethod
    def build(
        cls,
        settings: Settings,
        dead_letters: DeadLetterSink,
        *,
        clock: Clock | None = None,
        rules: Sequence[Rule] | None = None,
    ) -> Runtime:
        redis = redis_client(settings)
        profiles = RedisProfileStore(redis)
        alerts = AlertStore(redis, feed_maxlen=settings.feed_maxlen)
        grades = GradeStore(redis, feed_maxlen=settings.feed_maxlen)
        models = ModelStore(redis)
        engine = (
            RuleEngine(rules)
            if rules is not None
            else RuleEngine.from_config(rules_config_from_settings(settings))
        )
        sources = SourceFreshness(redis, settings.departments, settings.source_interval_s())
        shadow = ShadowLane(redis, cap=settings.shadow_max_alerts)
        keyer = PersonKeyer(settings.identity_secret.get_secret_value().encode())
        processor = BatchProcessor(
            decoder=Decoder(keyer, max_bytes=settings.max_message_bytes),
            families=topic_families(settings),
            store=profiles,
            alerts=alerts,
            engine=engine,
            grades=grades,
            dead_letters=dead_letters,
            clock=clock or SystemClock(),
            model=models,
            model_inputs=EarlyWarning.inputs,
            sources=sources,
            shadow=shadow,
        )
        return cls(
            settings, redis, profiles, alerts, grades, models, engine, processor, sources, shadow
        )
