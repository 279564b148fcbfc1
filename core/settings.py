"""One frozen, typed settings object, read from ``RISKWIRE_*`` environment variables.

Built once at the entry point (``riskwire worker``, ``riskwire api``) and passed down;
no module imports a global settings instance.
"""

from __future__ import annotations

import ipaddress
import json
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.errors import ConfigError
from core.keyring import parse_ring

DEV_IDENTITY_SECRET = "dev-only-identity-secret-do-not-deploy"
DEV_SEALING_KEYS = "dev:dev-only-sealing-key-do-not-deploy-000000"
DEV_AUDIT_KEY = "dev-only-audit-chain-key-do-not-deploy"
DEV_DEPARTMENTS = (
    "samr",
    "tax",
    "court",
    "police",
    "enforcement-bureau",
    "drc",
    "qianhai-authority",
)
# How long a source department may stay silent before the `RiskwireSourceSilent` alert:
# every department a day by default (they send in working hours, and a weekend is quiet
# for some); `RISKWIRE_SOURCE_INTERVALS_S` overrides it per department.
DEFAULT_SOURCE_INTERVAL_S = 24 * 3600.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RISKWIRE_",
        frozen=True,
        extra="ignore",
        env_file=".env",
        env_file_encoding="utf-8",
    )

    env: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"

    kafka_bootstrap: str = "127.0.0.1:9092"
    redis_url: str = "redis://127.0.0.1:6379/0"  # redis+cluster://h:p,h:p for a cluster
    # Replicas that must hold a batch's writes before its offsets are committed (WAIT,
    # core/redis_durability.py); None: 1 with a cluster URL, 0 (no wait) with one Redis.
    redis_wait_replicas: int | None = Field(default=None, ge=0, le=5)
    redis_wait_timeout_ms: int = Field(default=2_000, ge=10, le=60_000)
    # Keyed hash of person identities (HMAC-SHA256). Outside development it must be set.
    identity_secret: SecretStr = SecretStr(DEV_IDENTITY_SECRET)
    # Keys that seal webhook secrets at rest (AES-256-GCM): "<id>:<secret>,<id>:<secret>",
    # the first seals, every one opens (alerts/notify/sealing.py). Outside development set.
    sealing_keys: SecretStr = SecretStr(DEV_SEALING_KEYS)
    # HMAC key of the audit log's chain (api/audit.py). Outside development it must be set.
    audit_key: SecretStr = SecretStr(DEV_AUDIT_KEY)

    topic_registration: str = "registration.changes"
    topic_court: str = "court.filings"
    topic_tax: str = "tax.events"
    topic_enforcement: str = "enforcement.uploads"
    topic_alerts: str = "riskwire.alerts"
    topic_grades: str = "riskwire.grades"
    topic_dlq: str = "riskwire.dlq"
    # Every alert's latest revision, keyed by alert_id and compacted: the archive of the
    # alerts that the retention removed from Redis (riskwire alerts archive).
    topic_alert_archive: str = "riskwire.alert-archive"
    # Output messages (alerts, grades) the broker refused for good, with the reason.
    topic_dlq_outputs: str = "riskwire.dlq.outputs"
    # Compacted: the audit chain's head, published as it moves, outside Redis.
    topic_audit_anchor: str = "riskwire.audit.anchor"
    partitions: int = Field(default=8, ge=1)
    # Replicas of every topic riskwire creates (its own and faust's), and how many of them
    # must hold a write before the broker acknowledges it (producers use acks=all). Unset,
    # they follow the environment: 3 and 2 in production, 1 and 1 on one local broker.
    kafka_replication_factor: int | None = Field(default=None, ge=1, le=16)
    kafka_min_insync_replicas: int | None = Field(default=None, ge=1, le=16)
    departments: tuple[str, ...] = DEV_DEPARTMENTS
    # {"samr": 3600, ...}: the longest silence expected of each source department.
    source_intervals_s: dict[str, float] = Field(default_factory=dict)

    app_id: str = "riskwire"
    # faust's local data directory (riskwire keeps no state there: profiles live in Redis).
    state_dir: Path = Path(tempfile.gettempdir()) / "riskwire"
    worker_batch_max: int = Field(default=1000, ge=1)
    # How long a batch waits for more events after its first one arrived (processors.batching).
    # A batch starts as soon as the worker is free: what arrived while the previous batch was
    # processed starts at once; under a backlog batches fill to worker_batch_max at once. At
    # 0 a fast worker makes batches of one event (the bench's no-op ceiling fell tenfold).
    worker_batch_linger_s: float = Field(default=0.005, ge=0, le=1.0)
    # How long the worker's Kafka producer holds a message for company (aiokafka linger_ms):
    # every alert the relay publishes waits this long before it is sent. The relay sends a
    # batch's messages together anyway, so 0 costs no batching there.
    producer_linger_s: float = Field(default=0.0, ge=0, le=1.0)
    # A worker whose agent has read nothing for this long while messages wait on its input
    # partitions exits (status 70) for its supervisor to restart (processors.stall).
    worker_stall_s: float = Field(default=90.0, ge=10)
    worker_metrics_port: int = 9464
    # Re-evaluation fan-out: at most this many members of each changed hub (an address, a
    # person's companies) are re-evaluated per batch, newest first; the rest are counted in
    # riskwire_fanout_overflow_total and judged at their own next event.
    fanout_max: int = Field(default=200, ge=1, le=10_000)
    # Parsed profiles each worker keeps, by the stored bytes they were parsed from
    # (processors.profiles.cache; about 15 KB an enterprise, so ~150 MB at most); 0 keeps none.
    profile_cache_max: int = Field(default=10_000, ge=0)
    max_message_bytes: int = 1024 * 1024

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Bounded replay buffer of the live feed (Redis stream length).
    feed_maxlen: int = Field(default=100_000, ge=100)
    ws_heartbeat_s: float = Field(default=15.0, gt=0)
    ws_ticket_ttl_s: int = Field(default=60, ge=5)
    ws_send_queue: int = Field(default=1000, ge=10)
    # How often a connected WebSocket re-checks its account: a revoked account's sockets
    # close within this (plus one Redis round trip), so it stays under 10 s.
    ws_account_check_s: float = Field(default=5.0, gt=0, le=9)
    # Request bodies: counted as they arrive, 413 past the limit, on every route.
    api_max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    # The unauthenticated inbound webhook (a signed feedback note) gets a smaller limit.
    api_max_inbound_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Query routes: requests per token per minute, each class on its own (429 past it).
    rate_limit_batch_per_min: int = Field(default=30, ge=1)
    rate_limit_related_per_min: int = Field(default=240, ge=1)
    rate_limit_expand_per_min: int = Field(default=20, ge=1)
    rate_limit_draws_per_min: int = Field(default=10, ge=1)

    rules_file: Path | None = None
    # Shadow rules: the largest candidate an admin may load (the body of PUT
    # /api/v1/rules/shadow), and how many alerts (fingerprints) its diff follows.
    shadow_max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)
    shadow_max_alerts: int = Field(default=200_000, ge=100, le=10_000_000)

    # Webhooks. Networks (CIDR) beside the public internet that endpoints may reach, as a
    # JSON list or comma-separated; unset: loopback in development, none otherwise.
    # Link-local and cloud metadata addresses are refused whatever this says.
    webhook_allowed_networks: Annotated[tuple[str, ...] | None, NoDecode] = None
    webhook_max_endpoints: int = Field(default=10, ge=1, le=1000)  # per department
    webhook_max_subscriptions: int = Field(default=100, ge=1, le=10_000)  # per department
    webhook_in_flight: int = Field(default=256, ge=1)  # sends at once, per worker
    webhook_in_flight_per_department: int = Field(default=32, ge=1)  # per worker
    webhook_in_flight_per_endpoint: int = Field(default=4, ge=1)  # per worker

    @field_validator("webhook_allowed_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
            value = [v.strip() for v in value if v.strip()]
        return value

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _check_networks(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for network in value or ():
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ConfigError(
                    f"RISKWIRE_WEBHOOK_ALLOWED_NETWORKS: {network!r} is not a CIDR network"
                ) from None
        return value

    # Closed (resolved, dismissed) alerts leave Redis this long after closing; the worker
    # sweeps at most alert_sweep_batch of them every alert_sweep_interval_s.
    alert_retention_days: int = Field(default=180, ge=1)
    alert_sweep_interval_s: float = Field(default=60.0, gt=0)
    alert_sweep_batch: int = Field(default=500, ge=1, le=10_000)

    # The input topics keep messages this long (retention.ms; segments roll daily, so a
    # message lives at most a day more). riskwire sets it on the topics it creates.
    input_retention_days: int = Field(default=30, ge=1, le=3650)
    # Each profile remembers the identities of the events it applied this long (by the
    # worker's clock); older ones are folded into per-source marks, and an event not later
    # than its source's mark that is not remembered is refused as beyond_horizon. Must be
    # longer than the input retention plus the daily segment roll, so a redelivery from
    # the topics is always recognised by identity (ARCHITECTURE.md, "Exactly once").
    replay_horizon_days: int = Field(default=35, ge=2, le=3650)
    # Grade history per enterprise: every change of letter, plus this many of the newest
    # revisions of score or factors under an unchanged letter.
    grade_revisions_max: int = Field(default=5, ge=1, le=10_000)

    @model_validator(mode="after")
    def _refuse_short_horizon(self) -> Settings:
        if self.replay_horizon_days <= self.input_retention_days + 1:
            raise ConfigError(
                "RISKWIRE_REPLAY_HORIZON_DAYS must exceed RISKWIRE_INPUT_RETENTION_DAYS plus "
                f"one day ({self.replay_horizon_days} <= {self.input_retention_days} + 1): a "
                "message still on an input topic could be redelivered after its identity "
                "was forgotten, and would be refused instead of recognised as a duplicate"
            )
        return self

    @model_validator(mode="after")
    def _refuse_dev_secrets_outside_development(self) -> Settings:
        identity = self.identity_secret.get_secret_value()
        audit = self.audit_key.get_secret_value()
        ring = parse_ring(self.sealing_keys.get_secret_value())
        if self.env != "development":
            for name, value, dev in (
                ("IDENTITY_SECRET", identity, DEV_IDENTITY_SECRET),
                ("SEALING_KEYS", self.sealing_keys.get_secret_value(), DEV_SEALING_KEYS),
                ("AUDIT_KEY", audit, DEV_AUDIT_KEY),
            ):
                if value == dev or (name == "SEALING_KEYS" and dev.partition(":")[2] in value):
                    raise ConfigError(f"RISKWIRE_{name} must be set outside development")
        if len(identity) < 16:
            raise ConfigError("RISKWIRE_IDENTITY_SECRET must be at least 16 characters")
        if len(audit) < 16:
            raise ConfigError("RISKWIRE_AUDIT_KEY must be at least 16 characters")
        secrets = [identity, audit, *(secret for _, secret in ring)]
        if len(set(secrets)) != len(secrets):
            raise ConfigError(
                "RISKWIRE_IDENTITY_SECRET, RISKWIRE_AUDIT_KEY and each sealing key must differ"
            )
        return self

    @model_validator(mode="after")
    def _refuse_impossible_replication(self) -> Settings:
        if self.min_insync_replicas > self.replication_factor:
            raise ConfigError(
                "RISKWIRE_KAFKA_MIN_INSYNC_REPLICAS must not exceed the replication factor "
                f"({self.min_insync_replicas} > {self.replication_factor}): no write could succeed"
            )
        return self

    @property
    def replication_factor(self) -> int:
        """``kafka_replication_factor``, or the environment's default.

        >>> keys = {"sealing_keys": "k1:" + "s" * 32, "audit_key": "a" * 32}
        >>> Settings(env="production", identity_secret="x" * 32, **keys).replication_factor
        3
        >>> Settings(env="test", identity_secret="x" * 32, **keys).replication_factor
        1
        """
        if self.kafka_replication_factor is not None:
            return self.kafka_replication_factor
        return 3 if self.env == "production" else 1

    @property
    def min_insync_replicas(self) -> int:
        """``kafka_min_insync_replicas``, or one fewer than the replicas (at least 1): a
        broker may be down and writes still go on, and none is acknowledged by one alone."""
        if self.kafka_min_insync_replicas is not None:
            return self.kafka_min_insync_replicas
        return max(1, self.replication_factor - 1)

    @property
    def input_topics(self) -> tuple[str, str, str, str]:
        return (self.topic_registration, self.topic_court, self.topic_tax, self.topic_enforcement)

    def source_interval_s(self) -> dict[str, float]:
        """Every department's expected longest silence (a default for those not set)."""
        return {
            d: self.source_intervals_s.get(d, DEFAULT_SOURCE_INTERVAL_S) for d in self.departments
        }

    def department_topic(self, department: str) -> str:
        return f"{self.topic_alerts}.{department}"
