"""The one compare-and-set helper (:mod:`core.cas`): racing writers each land once, a lost
write is read again, an error is not retried, and the bound ends in the caller's error."""

from __future__ import annotations

import asyncio

import pytest

from core.cas import AGAIN, Again, compare_and_set
from core.errors import RiskwireError, StoreError


class Cell:
    """A versioned value whose write lands only on the version it was read at."""

    def __init__(self) -> None:
        self.value, self.version = 0, 0

    async def read(self) -> tuple[int, int]:
        await asyncio.sleep(0)  # let the other writers run between read and write
        return self.value, self.version

    async def write(self, value: int, *, expected: int) -> bool:
        await asyncio.sleep(0)
        if expected != self.version:
            return False
        self.value, self.version = value, self.version + 1
        return True


async def _increment(cell: Cell, lost: list[int]) -> int:
    async def attempt(n: int) -> int | Again:
        value, version = await cell.read()
        if await cell.write(value + 1, expected=version):
            return value + 1
        lost.append(n)
        return AGAIN

    return await compare_and_set(attempt, exhausted=lambda: StoreError("kept changing"))


async def test_racing_writers_each_land_once_reading_again_after_a_lost_write() -> None:
    cell, lost = Cell(), []
    results = await asyncio.gather(*[_increment(cell, lost) for _ in range(10)])
    assert cell.value == 10  # no increment lost, none applied twice
    assert cell.version == 10
    assert sorted(results) == list(range(1, 11))
    assert lost, "the writers never raced: the test proves nothing"


async def test_the_attempts_are_numbered_and_paused_between_never_after_the_last() -> None:
    seen: list[int] = []
    pauses: list[int] = []

    async def attempt(n: int) -> str | Again:
        seen.append(n)
        return "landed" if n == 3 else AGAIN

    async def pause(n: int) -> None:
        pauses.append(n)

    assert await compare_and_set(attempt, exhausted=_error, pause=pause) == "landed"
    assert seen == [0, 1, 2, 3]
    assert pauses == [0, 1, 2]


class Contended(RiskwireError):
    pass


def _error() -> RiskwireError:
    return Contended("告警正被频繁更新，请稍后重试")


async def test_the_bound_raises_the_caller_s_error_after_that_many_lost_writes() -> None:
    seen: list[int] = []
    pauses: list[int] = []

    async def always_lost(n: int) -> Again | None:
        seen.append(n)
        return AGAIN

    async def pause(n: int) -> None:
        pauses.append(n)

    with pytest.raises(Contended, match="频繁更新"):
        await compare_and_set(always_lost, attempts=4, exhausted=_error, pause=pause)
    assert seen == [0, 1, 2, 3]
    assert pauses == [0, 1, 2]  # no pause before giving up


async def test_an_answer_that_is_none_or_false_is_a_landed_result_not_a_retry() -> None:
    async def gone(_: int) -> bool | Again:
        return False  # e.g. the record does not exist: nothing to write

    assert await compare_and_set(gone, exhausted=_error) is False


async def test_an_error_in_an_attempt_is_raised_at_once_not_retried() -> None:
    seen: list[int] = []

    async def broken(n: int) -> int | Again:
        seen.append(n)
        raise StoreError("Redis away")

    with pytest.raises(StoreError, match="Redis away"):
        await compare_and_set(broken, exhausted=_error)
    assert seen == [0]


async def test_at_least_one_attempt() -> None:
    async def never(_: int) -> int | Again:
        raise AssertionError("not called")

    with pytest.raises(ValueError, match="at least one"):
        await compare_and_set(never, attempts=0, exhausted=_error)
