"""The per-socket account watch: it returns once the account is revoked or gone, and a
check that Redis cannot answer keeps the socket open and is tried again."""

from __future__ import annotations

import asyncio
import contextlib

from redis.exceptions import ConnectionError as RedisConnectionError

from api.routes.ws import _until_revoked


class Answers:
    """An ``Accounts`` stand-in whose ``active`` answers from a script."""

    def __init__(self, *answers: bool | Exception) -> None:
        self.answers = list(answers)
        self.asked = 0

    async def active(self, account_id: str) -> bool:
        self.asked += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_the_watch_ends_at_revocation_and_survives_a_redis_outage() -> None:
    accounts = Answers(True, RedisConnectionError("restarting"), True, False)
    await asyncio.wait_for(_until_revoked(accounts, "A1", 0.001), timeout=2)  # type: ignore[arg-type]
    assert accounts.asked == 4


async def test_the_watch_keeps_an_active_account_connected() -> None:
    accounts = Answers(*([True] * 1000))
    watch = asyncio.create_task(_until_revoked(accounts, "A1", 0.001))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    assert not watch.done()
    watch.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watch
