"""A rebalance must not skip a fresh partition's first records (processors/fresh_partitions.py):
the seek after it sends every partition without a committed offset back to its beginning."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from core.settings import Settings
from processors import fresh_partitions
from processors.app import new_faust_app
from processors.fresh_partitions import seek_to_committed_or_beginning


class Consumer:
    """What aiokafka's consumer answers and records: committed offsets per partition."""

    def __init__(self, committed: Mapping[str, int | None]) -> None:
        self.committed = dict(committed)
        self.to_beginning: list[str] = []

    async def seek_to_committed(self, *partitions: Any) -> Mapping[Any, int | None]:
        return self.committed

    async def seek_to_beginning(self, *partitions: Any) -> bool:
        self.to_beginning.extend(partitions)
        return True


async def test_a_partition_never_committed_is_read_again_from_its_beginning() -> None:
    consumer = Consumer({"reg-0": 31, "reg-1": None, "reg-2": 0, "tax-0": 7})
    answered = await seek_to_committed_or_beginning(consumer)
    # None and 0 are both "nothing committed" to faust; the others keep their commits
    assert sorted(consumer.to_beginning) == ["reg-1", "reg-2"]
    assert answered == consumer.committed


async def test_partitions_with_commits_are_left_at_them() -> None:
    consumer = Consumer({"reg-0": 31, "tax-0": 7})
    await seek_to_committed_or_beginning(consumer)
    assert consumer.to_beginning == []


def test_every_worker_app_installs_the_seek(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async def faust_own(self: AIOKafkaConsumerThread) -> Mapping[Any, int]:
        return {}

    monkeypatch.setattr(AIOKafkaConsumerThread, "seek_to_committed", faust_own)
    new_faust_app(Settings(state_dir=tmp_path))
    assert AIOKafkaConsumerThread.seek_to_committed is fresh_partitions._seek_to_committed
