"""How many Redis round trips, one after another, a representative batch waits for.

A batch's latency and the worker's throughput are bounded by its sequential round trips
(each a write pays an fsync under ``appendfsync always``), not by its CPU. The in-memory
stores here are wrapped so that each call costs what the Redis store's call costs on one
Redis (:mod:`processors.profiles.redis`, :mod:`alerts.store`, :mod:`processors.grades`,
:mod:`rules.models.checkpoint`), counted by :mod:`core.round_trips` as the worker counts
them (``riskwire_batch_redis_round_trips``). A change that adds one to the path fails here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from alerts.memory import MemoryAlertStore
from alerts.store import OpenAlerts, Upsert
from core.round_trips import round_trip_ended, round_trip_started
from processors.grades import MemoryGradeStore, Recorded
from processors.profiles.memory import MemoryProfileStore
from rules.early_warning import EarlyWarning
from rules.models.early_warning import EarlyWarningModel
from simulate import samples
from simulate.factory import EventFactory
from streams.codec import Decoder

from .pipeline_kit import T0, NoLetters, processor
from .test_pipeline import Harness

# The sequential round trips of the batches below (12 and 14 before issue 12's cut).
STEADY_MAX = 7  # load, commit, facts + grades + model, open alerts, upsert, grades + check, feed
CHANGING_MAX = 10  # and the indices, the hubs, the dependents' profiles


_TURNS = 10


async def _trip() -> None:
    """One round trip: in flight across several turns of the loop (a real one outlasts the
    scheduling of the coroutines awaiting it), so that those awaited together overlap."""
    token = round_trip_started()
    for _ in range(_TURNS):
        await asyncio.sleep(0)
    round_trip_ended(token)


def _counted(call: Callable[..., Awaitable[Any]], trips: Callable[..., int]) -> Any:
    async def counted(*args: Any, **kwargs: Any) -> Any:
        for _ in range(trips(*args, **kwargs)):
            await _trip()
        return await call(*args, **kwargs)

    return counted


def _one_if(arg: Any = None, *_: Any, **__: Any) -> int:
    return 1 if arg else 0


class Profiles:
    """Each non-empty call is one script call or pipeline."""

    def __init__(self, inner: MemoryProfileStore) -> None:
        for name in ("load", "commit", "finish_indices", "apply_index_ops", "hubs", "versions"):
            setattr(self, name, _counted(getattr(inner, name), _one_if))
        self.stored_form = inner.stored_form  # no round trip


class Alerts:
    """The open alerts in one script call, with their stored documents; an upsert in one
    pipeline, and one read before it for an update whose document it was not given."""

    def __init__(self, inner: MemoryAlertStore) -> None:
        self._inner = inner
        self.upsert = _counted(inner.upsert, self._upsert_trips)

    async def open_alerts(self, fingerprints: Sequence[str]) -> dict[str, Any]:
        if not fingerprints:
            return OpenAlerts()
        await _trip()
        out = OpenAlerts()
        for fp, alert in (await self._inner.open_alerts(fingerprints)).items():
            out[fp] = alert
            out.docs[alert.alert_id] = alert.model_dump_json().encode()
        return out

    @staticmethod
    def _upsert_trips(upserts: Sequence[Upsert]) -> int:
        if not upserts:
            return 0
        return 2 if any(u.expected_revision and u.stored is None for u in upserts) else 1


class Grades:
    """The current grades in one pipeline; a record in one, and the feed in one more when
    a letter changed."""

    def __init__(self, inner: MemoryGradeStore) -> None:
        self._inner = inner
        self.current = _counted(inner.current, _one_if)

    async def record(self, changes: Sequence[Any]) -> list[Recorded]:
        if not changes:
            return []
        await _trip()
        recorded = await self._inner.record(changes)
        if Recorded.CHANGED in recorded:
            await _trip()
        return recorded


class Model:
    """The model's version read in one call; labels queued in one."""

    def __init__(self) -> None:
        self.inner = EarlyWarningModel()
        self.reads = 0

    async def model(self) -> EarlyWarningModel:
        self.reads += 1
        await _trip()
        return self.inner

    async def offer(self, labels: Sequence[Any]) -> None:
        if labels:
            await _trip()


class Counted(Harness):
    def __init__(self, decoder: Decoder) -> None:
        super().__init__(decoder)
        self.model = Model()
        self.processor = processor(
            decoder,
            store=cast(Any, Profiles(self.store)),
            alerts=cast(Any, Alerts(self.alerts)),
            grades=cast(Any, Grades(self.grades)),
            dead_letters=NoLetters(),
            model=self.model,
            model_inputs=EarlyWarning.inputs,
        )

    async def trips(self, *events: dict[str, Any]) -> int:
        return (await self.feed(*events)).round_trips


async def test_a_steady_batch_waits_for_at_most_seven_round_trips(
    decoder: Decoder, factory: EventFactory
) -> None:
    h = Counted(decoder)
    firms = [factory.uscc() for _ in range(6)]
    await h.feed(*(factory.registered(u, time=T0) for u in firms))
    batch = [
        factory.tax_paid(firms[0], time=T0),
        factory.employment(firms[1], time=T0),
        factory.inspection(firms[2], violation=True, time=T0),
        factory.case_filed(firms[3], role="defendant", time=T0),
        factory.tax_arrears(firms[4], 500_000.0, time=T0),  # an alert, and a new grade
    ]
    assert await h.trips(*batch) <= STEADY_MAX
    assert len(h.open_alerts("tax_arrears")) == 1
    # The same batch again (a redelivery): nothing changes, nothing more is waited for.
    assert await h.trips(*batch) <= STEADY_MAX


async def test_a_batch_that_moves_indices_and_hubs_waits_for_at_most_ten(
    decoder: Decoder, factory: EventFactory
) -> None:
    h = Counted(decoder)
    address = samples.make_address(factory.rng)
    cluster = [factory.uscc() for _ in range(4)]
    await h.feed(*(factory.registered(u, time=T0, address=address) for u in cluster))
    firm = factory.uscc()
    officer = factory.person()
    await h.feed(factory.registered(firm, time=T0, legal_rep=officer))
    batch = [
        factory.registered(factory.uscc(), time=T0, address=address),  # the cluster grows
        factory.changed(
            cluster[0], "address_registered", samples.make_address(factory.rng), time=T0
        ),
        factory.debtor_listed_person(officer, case_no="(2026)粤0305执1号", time=T0),
        factory.tax_arrears(firm, 500_000.0, time=T0),
    ]
    assert await h.trips(*batch) <= CHANGING_MAX
    assert h.open_alerts("dishonest_officer")


async def test_a_batch_with_nothing_to_score_does_not_read_the_model(
    decoder: Decoder, factory: EventFactory
) -> None:
    h = Counted(decoder)
    firm = factory.uscc()
    await h.feed(factory.registered(firm, time=T0))
    reads = h.model.reads
    await h.feed(factory.tax_paid(firm, time=T0), factory.employment(firm, time=T0))
    assert h.model.reads == reads  # neither event is one the model scores
    await h.feed(factory.tax_paid(firm, time=T0), factory.inspection(firm, time=T0))
    assert h.model.reads == reads + 1
