"""The stall watchdog (processors.stall) on a fake consumer: a worker whose consumer holds
partitions with unread messages and whose idle agent has read nothing for the stall time
exits with status 70; a busy agent, a caught-up one, or a broker that cannot answer never
makes it exit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pytest

from processors import stall
from processors.stall import STALL_EXIT, StallWatch, check_stall, unread

TOPICS = ("t.tax.events", "t.court.filings")


@dataclass(frozen=True)
class TP:
    topic: str
    partition: int


class FakeConsumer:
    def __init__(self, ends: Mapping[TP, int], positions: Mapping[TP, int | None]) -> None:
        self.ends, self.positions = dict(ends), dict(positions)
        self.broken = False

    def assignment(self) -> set[TP]:
        return set(self.positions) | {TP("riskwire-__assignor-__leader", 0)}

    async def highwaters(self, *tps: TP) -> dict[TP, int]:
        if self.broken:
            raise ConnectionError("broker away")
        return {tp: self.ends[tp] for tp in tps}

    async def position(self, tp: TP) -> int | None:
        return self.positions[tp]


A, B = TP(TOPICS[0], 0), TP(TOPICS[1], 3)


class Exited(Exception):
    pass


@pytest.fixture
def exits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    codes: list[int] = []

    def fake_exit(code: int) -> None:
        codes.append(code)
        raise Exited

    monkeypatch.setattr(stall.os, "_exit", fake_exit)
    return codes


async def test_unread_counts_messages_beyond_the_positions_of_input_partitions() -> None:
    consumer = FakeConsumer({A: 120, B: 7}, {A: 100, B: 7})
    assert await unread(consumer, TOPICS) == 20
    consumer.broken = True
    assert await unread(consumer, TOPICS) is None  # proves nothing
    assert await unread(FakeConsumer({A: 5}, {A: None}), TOPICS) is None


async def test_a_wedged_consumer_makes_the_worker_exit(exits: list[int]) -> None:
    now = [0.0]
    watch = StallWatch(60.0, clock=lambda: now[0])
    consumer = FakeConsumer({A: 120, B: 7}, {A: 100, B: 7})
    await check_stall(watch, consumer, TOPICS)
    now[0] = 59.0
    await check_stall(watch, consumer, TOPICS)
    assert exits == []
    now[0] = 61.0
    with pytest.raises(Exited):
        await check_stall(watch, consumer, TOPICS)
    assert exits == [STALL_EXIT]


async def test_busy_caught_up_or_unanswered_workers_stay(exits: list[int]) -> None:
    now = [0.0]
    watch = StallWatch(60.0, clock=lambda: now[0])
    behind = FakeConsumer({A: 120, B: 7}, {A: 100, B: 7})
    watch.batch_started()  # a batch retried for minutes while Redis is down
    now[0] = 600.0
    await check_stall(watch, behind, TOPICS)
    watch.batch_done()
    now[0] = 1_000.0
    await check_stall(watch, FakeConsumer({A: 120}, {A: 120}), TOPICS)  # caught up
    now[0] = 2_000.0
    behind.broken = True
    await check_stall(watch, behind, TOPICS)  # the broker cannot say: left alone
    assert exits == []
