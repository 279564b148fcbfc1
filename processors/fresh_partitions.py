"""After a rebalance, a partition the group never committed is read again from its beginning.

faust drops the records it fetched but had not yet handed out when a rebalance happens:
``Consumer.getmany`` stops on a new generation, when the flow is paused, and for a partition
that is not active. It then relies on ``perform_seek`` (seek every partition back to its
committed offset) to fetch them again. aiokafka's ``seek_to_committed`` seeks only partitions
that *have* a committed offset above 0; a fresh one keeps its fetch position, past the
dropped records. Those records are never delivered, and faust's commit skips them: its guard
against a gap at the head of the acked offsets runs only when the partition's committed offset
is truthy, and faust keeps a committed offset of 0 as ``None``.

The short fault suite lost the first 17-30 messages of four of eight registration partitions
this way (seed 416273335): the workers' first rebalance came while the feed was flowing.

:func:`install` makes the seek send every partition without a committed offset (``None`` or
0) back to its beginning. Records that were already applied then arrive again, and the
profile store's dedup refuses to apply them twice; none is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread


class SeekingConsumer(Protocol):
    """The part of ``aiokafka.AIOKafkaConsumer`` the seek uses."""

    async def seek_to_committed(self, *partitions: Any) -> Mapping[Any, int | None]: ...

    async def seek_to_beginning(self, *partitions: Any) -> bool: ...


async def seek_to_committed_or_beginning(consumer: SeekingConsumer) -> Mapping[Any, int | None]:
    """Seek every assigned partition to its committed offset, and each one without a commit
    to its beginning; answers the committed offsets, as ``seek_to_committed`` does."""
    committed = await consumer.seek_to_committed()
    fresh = [tp for tp, offset in committed.items() if not offset]
    if fresh:
        await consumer.seek_to_beginning(*fresh)
    return committed


async def _seek_to_committed(self: AIOKafkaConsumerThread) -> Mapping[Any, int | None]:
    return await self.call_thread(seek_to_committed_or_beginning, self._ensure_consumer())  # type: ignore[no-any-return]


def install() -> None:
    """Patch faust's aiokafka consumer thread (idempotent; every worker app calls it)."""
    AIOKafkaConsumerThread.seek_to_committed = _seek_to_committed  # type: ignore[method-assign,assignment]
