"""Liveness and readiness: ``/healthz`` answers while the process runs; ``/readyz`` checks
that Kafka and Redis answer, that some worker holds partitions and that this process's
live-feed tail is reading (else the boards connected here get heartbeats and no alerts)."""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka.admin import AIOKafkaAdminClient
from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from api.deps import RedisDep, SettingsDep
from processors.heartbeat import live_workers

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    kafka: bool
    redis: bool
    workers: int
    assigned_partitions: int
    feed: bool = Field(description="this API process's live-feed tail reads the alert feed")


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(
    settings: SettingsDep, redis: RedisDep, request: Request, response: Response
) -> Readiness:
    redis_ok, workers, assigned = True, 0, 0
    try:
        heartbeats = await live_workers(redis)  # the heartbeats' read is the Redis check
        workers, assigned = len(heartbeats), sum(h.assigned for h in heartbeats)
    except Exception:
        redis_ok = False
    kafka_ok = await _kafka_reachable(settings.kafka_bootstrap)
    feed_ok: bool = request.app.state.broadcaster.up
    ready = redis_ok and kafka_ok and assigned > 0 and feed_ok
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Readiness(
        ready=ready,
        kafka=kafka_ok,
        redis=redis_ok,
        workers=workers,
        assigned_partitions=assigned,
        feed=feed_ok,
    )


async def _kafka_reachable(bootstrap: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await asyncio.wait_for(admin.start(), timeout=4)
        await asyncio.wait_for(admin.list_topics(), timeout=4)
        return True
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
