"""When Redis fails under a request, the API answers 503 with the officers' zh-CN text,
whether a store wrapped the failure in :class:`StoreError` or a raw ``RedisError`` got
through; never a bare 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from alerts.store import AlertStore
from api.app import create_app
from core.errors import StoreError
from core.settings import Settings


class _Failing:
    """Accounts whose every lookup fails the way it was told to."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def authenticate(self, token: Any) -> Any:
        raise self.error


@pytest.fixture(params=[StoreError("reading accounts failed"), RedisConnectionError("refused")])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings())  # the lifespan (Redis) is not run
    app.state.accounts = _Failing(request.param)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://riskwire") as c:
        yield c


async def test_a_request_that_meets_a_redis_failure_is_answered_503(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/api/v1/alerts", headers={"Authorization": "Bearer t"})
    assert answer.status_code == 503
    assert answer.json() == {"detail": "Redis暂时不可用，请稍后重试"}


class _RefusingRedis:
    def register_script(self, source: str) -> object:
        return object()

    async def hmget(self, key: str, fields: list[str]) -> list[Any]:
        raise RedisConnectionError("refused")


async def test_the_alert_store_s_document_reads_fail_as_a_store_error() -> None:
    store = AlertStore(_RefusingRedis())  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="reading 2 alerts failed"):
        await store.departments({"a-1", "a-2"})
