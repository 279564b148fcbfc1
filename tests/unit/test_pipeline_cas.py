"""The batch's compare-and-set loops (profiles, alerts, deregistration closes, the judgement
of moved profiles): a write that loses to another writer is read and made again, and one
that keeps losing gives up after 20 attempts with a ``StoreError`` naming what kept
changing, leaving the batch to be retried whole."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence

import pytest

from alerts.dedup import Change
from alerts.memory import MemoryAlertStore
from alerts.store import Upsert
from core.errors import StoreError
from processors.batch import BatchReport
from processors.profiles.memory import MemoryProfileStore
from simulate.factory import EventFactory
from streams.codec import Decoder
from streams.profile import EnterpriseProfile
from streams.profile_store import EntityRef, Write

from .pipeline_kit import T0, Feeder, processor

ATTEMPTS = 20
RULES = ["grade_downgrade", "tax_arrears"]  # what a registration and large arrears raise


class LosingProfiles(MemoryProfileStore):
    """Every commit loses to another writer, the first ``losses`` times; ``moving`` makes
    every profile's version move between the judgement's read and its check."""

    def __init__(self, losses: int, *, moving: bool = False) -> None:
        super().__init__()
        self.losses, self.moving = losses, moving
        self.commits = self.checks = 0

    async def commit(self, writes: Sequence[Write]) -> dict[EntityRef, int | None]:
        self.commits += 1
        if self.losses > 0:
            self.losses -= 1
            return {w.ref: None for w in writes}
        return await super().commit(writes)

    async def versions(self, refs: Collection[EntityRef]) -> dict[EntityRef, int]:
        self.checks += 1
        now = await super().versions(refs)
        return {ref: v + 1 for ref, v in now.items()} if self.moving else now


class LosingAlerts(MemoryAlertStore):
    """Each upsert that ``loses`` picks out loses to another writer, ``losses`` times."""

    def __init__(self, losses: int, loses: Callable[[Upsert], bool]) -> None:
        super().__init__()
        self.losses, self.loses = losses, loses
        self.upserts = 0

    async def upsert(self, upserts: Sequence[Upsert]) -> list[int | None]:
        if any(self.loses(u) for u in upserts):
            self.upserts += 1
            if self.losses > 0:
                self.losses -= 1
                return [None if self.loses(u) else -1 for u in upserts]
        return await super().upsert(upserts)


def _arrears(factory: EventFactory, uscc: str) -> list[dict[str, object]]:
    return [factory.registered(uscc, time=T0), factory.tax_arrears(uscc, 500_000.0, time=T0)]


async def test_a_lost_profile_commit_is_applied_again_once(
    decoder: Decoder, factory: EventFactory
) -> None:
    store = LosingProfiles(3)
    uscc = factory.uscc()
    report = await Feeder(processor(decoder, store=store)).feed(*_arrears(factory, uscc))
    assert (report.applied, report.duplicates, store.commits) == (2, 0, 4)
    doc, version, _ = store.docs_by_ref[EntityRef("ent", uscc)]
    assert version == 1
    assert EnterpriseProfile.model_validate_json(doc).tax.arrears_outstanding == 500_000.0


async def test_profiles_that_keep_changing_fail_the_batch_after_20_attempts(
    decoder: Decoder, factory: EventFactory
) -> None:
    store = LosingProfiles(10_000)
    with pytest.raises(StoreError, match="1 profiles kept changing"):
        await Feeder(processor(decoder, store=store)).feed(*_arrears(factory, factory.uscc()))
    assert store.commits == ATTEMPTS


async def test_a_lost_alert_write_is_folded_again(decoder: Decoder, factory: EventFactory) -> None:
    alerts = LosingAlerts(2, lambda u: u.change is Change.CREATED)
    report = await Feeder(processor(decoder, alerts=alerts)).feed(
        *_arrears(factory, factory.uscc())
    )
    assert sorted(a.rule_id for a in report.alerts) == RULES
    assert alerts.upserts == 3
    assert [change for _, change, _ in alerts.feed] == ["created", "created"]


async def test_alerts_that_keep_changing_fail_the_batch_after_20_attempts(
    decoder: Decoder, factory: EventFactory
) -> None:
    alerts = LosingAlerts(10_000, lambda u: u.change is Change.CREATED)
    with pytest.raises(StoreError, match="2 alerts kept changing"):
        await Feeder(processor(decoder, alerts=alerts)).feed(*_arrears(factory, factory.uscc()))
    assert alerts.upserts == ATTEMPTS
    assert alerts.feed == []


def _closes(u: Upsert) -> bool:
    return u.change is Change.STATUS


async def _alerts_then_deregistration(
    decoder: Decoder, factory: EventFactory, alerts: LosingAlerts
) -> Callable[[], Awaitable[BatchReport]]:
    """Raise the alerts of one enterprise; answers the feed of its deregistration."""
    feeder = Feeder(processor(decoder, alerts=alerts))
    uscc = factory.uscc()
    await feeder.feed(*_arrears(factory, uscc))
    gone = factory.event("enterprise.deregistered", uscc, {"reason": "注销"}, time=T0)
    return lambda: feeder.feed(gone)


async def test_a_lost_deregistration_close_is_made_again(
    decoder: Decoder, factory: EventFactory
) -> None:
    alerts = LosingAlerts(2, _closes)
    feed_deregistration = await _alerts_then_deregistration(decoder, factory, alerts)
    report = await feed_deregistration()
    assert sorted(a.rule_id for a in report.alerts) == RULES
    assert {a.status.value for a in report.alerts} == {"resolved"}
    assert alerts.upserts == 3
    assert alerts.open == {}


async def test_closes_that_keep_losing_fail_the_batch_after_20_attempts(
    decoder: Decoder, factory: EventFactory
) -> None:
    alerts = LosingAlerts(10_000, _closes)
    feed_deregistration = await _alerts_then_deregistration(decoder, factory, alerts)
    with pytest.raises(StoreError, match="2 alerts of deregistered enterprises kept changing"):
        await feed_deregistration()
    assert alerts.upserts == ATTEMPTS
    assert len(alerts.open) == len(RULES)


async def test_a_judgement_whose_profiles_keep_moving_fails_after_20_rounds(
    decoder: Decoder, factory: EventFactory
) -> None:
    store = LosingProfiles(0, moving=True)
    with pytest.raises(StoreError, match="1 enterprises kept changing while they were judged"):
        await Feeder(processor(decoder, store=store)).feed(*_arrears(factory, factory.uscc()))
    assert store.checks == ATTEMPTS
