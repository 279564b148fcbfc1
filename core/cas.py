"""Compare-and-set with a bound: read, compute, write only if nothing changed since the
read, else read again, at most ``attempts`` times.

Every store that lets several writers race on one record (an alert's revision, the audit
log's head, a model's version, the rule overrides, a webhook endpoint) writes this way.
The caller's ``attempt`` does one read, one computation and one conditional write (a Lua
script that compares a version, revision or the old value, or an upsert that refuses a
stale revision) and answers the result, or :data:`AGAIN` when the write lost to another
writer. :func:`compare_and_set` runs it until it lands and raises the caller's
:class:`~core.errors.RiskwireError` when it lost ``attempts`` times in a row.

>>> import asyncio
>>> from core.errors import StoreError
>>> async def bump(n: int) -> int | Again:
...     return AGAIN if n < 2 else n  # lost twice to other writers, then landed
>>> asyncio.run(compare_and_set(bump, exhausted=lambda: StoreError("kept changing")))
2
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import TypeVar

from core.errors import RiskwireError

T = TypeVar("T")

DEFAULT_ATTEMPTS = 20


class Again(enum.Enum):
    """The conditional write lost to another writer: read again."""

    AGAIN = "again"


AGAIN = Again.AGAIN


async def compare_and_set(
    attempt: Callable[[int], Awaitable[T | Again]],
    *,
    exhausted: Callable[[], RiskwireError],
    attempts: int = DEFAULT_ATTEMPTS,
    pause: Callable[[int], Awaitable[None]] | None = None,
) -> T:
    """Await ``attempt(n)`` for n = 0, 1, … until it answers something else than
    :data:`AGAIN`, and answer that; after ``attempts`` lost writes raise ``exhausted()``.
    ``pause(n)``, if given, is awaited between a lost attempt n and the next one (a jitter
    that lets the winner's next write through)."""
    if attempts < 1:
        raise ValueError("compare_and_set needs at least one attempt")
    for n in range(attempts):
        result = await attempt(n)
        if not isinstance(result, Again):
            return result
        if pause is not None and n + 1 < attempts:
            await pause(n)
    raise exhausted()
