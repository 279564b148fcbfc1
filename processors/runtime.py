"""The objects one worker process shares: Redis, the stores, the rule engine, the processor.

Built once from :class:`~core.settings.Settings` at startup, so the faust wiring in
``processors.app`` stays a few lines and tests can build a runtime without faust.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from redis.asyncio import Redis

from alerts.store import AlertStore
from core.clock import Clock, SystemClock
from core.redis_client import is_cluster_url
from core.redis_client import redis_client as client_for_url
from core.redis_durability import ReplicaWait
from core.settings import Settings
from processors.freshness import SourceFreshness
from processors.grades import GradeStore
from processors.pipeline import BatchProcessor, DeadLetterSink
from processors.profiles.cache import ProfileCache
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
    """The Redis client (single server or cluster) of ``settings``: :mod:`core.redis_client`."""
    return client_for_url(settings.redis_url)


def replica_wait(redis: Redis, settings: Settings) -> ReplicaWait:
    """The worker's ``WAIT`` after each batch (:mod:`core.redis_durability`)."""
    replicas = settings.redis_wait_replicas
    if replicas is None:
        replicas = 1 if is_cluster_url(settings.redis_url) else 0
    return ReplicaWait(redis, replicas=replicas, timeout_ms=settings.redis_wait_timeout_ms)


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
    replicated: ReplicaWait

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
        clock = clock or SystemClock()
        profiles = RedisProfileStore(
            redis, clock=clock, replay_horizon=timedelta(days=settings.replay_horizon_days)
        )
        alerts = AlertStore(redis, feed_maxlen=settings.feed_maxlen)
        grades = GradeStore(
            redis, feed_maxlen=settings.feed_maxlen, revisions_max=settings.grade_revisions_max
        )
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
            clock=clock,
            model=models,
            model_inputs=EarlyWarning.inputs,
            sources=sources,
            shadow=shadow,
            fanout_cap=settings.fanout_max,
            cache=ProfileCache(settings.profile_cache_max),
        )
        replicated = replica_wait(redis, settings)
        return cls(
            settings,
            redis,
            profiles,
            alerts,
            grades,
            models,
            engine,
            processor,
            sources,
            shadow,
            replicated,
        )
