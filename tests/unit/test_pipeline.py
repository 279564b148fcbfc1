"""The batch processor on in-memory stores: exactly-once application, dead letters, rules
end to end (both orders of dishonest_officer), and one open alert per fingerprint."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from alerts.memory import MemoryAlertStore
from processors.grades import MemoryGradeStore
from processors.pipeline import DeadLetter
from processors.profiles.memory import MemoryProfileStore
from simulate.factory import EventFactory
from streams.codec import Decoder
from streams.event import Event
from streams.profile import EnterpriseProfile
from streams.profile_store import EntityRef

from .pipeline_kit import T0, CollectedLetters, Feeder, processor


class Harness(Feeder):
    def __init__(self, decoder: Decoder, **options: Any) -> None:
        self.store = MemoryProfileStore()
        self.alerts = MemoryAlertStore()
        self.grades = MemoryGradeStore()
        self.dlq = CollectedLetters()
        super().__init__(
            processor(
                decoder,
                store=self.store,
                alerts=self.alerts,
                grades=self.grades,
                dead_letters=self.dlq,
                **options,
            )
        )

    def profile(self, uscc: str) -> EnterpriseProfile:
        return EnterpriseProfile.model_validate_json(
            self.store.docs_by_ref[EntityRef("ent", uscc)][0]
        )

    def open_alerts(self, rule_id: str) -> list[Any]:
        return [a for a in self.alerts.by_id.values() if a.rule_id == rule_id and a.status.is_open]


@pytest.fixture
def h(decoder: Decoder) -> Harness:
    return Harness(decoder)


async def test_a_redelivered_event_changes_nothing(h: Harness, factory: EventFactory) -> None:
    uscc = factory.uscc()
    reg = factory.registered(uscc, time=T0)
    fail = factory.event(
        "contact.failed", uscc, {"department": "samr", "channel": "phone"}, time=T0
    )
    first = await h.feed(reg, fail)
    assert (first.applied, first.duplicates) == (2, 0)
    before = h.profile(uscc)
    again = await h.feed(fail, reg, fail)  # redelivery, and a duplicate inside one batch
    assert (again.applied, again.duplicates) == (0, 3)
    assert h.profile(uscc) == before
    assert len(before.contact_failures) == 1


async def test_bad_input_is_dead_lettered_and_the_rest_goes_on(
    h: Harness, factory: EventFactory
) -> None:
    uscc = factory.uscc()
    report = await h.feed(b"{oops", factory.registered(uscc, time=T0), b"[]")
    assert report.dead_lettered == 2
    assert report.applied == 1
    assert [letter.error.reason.value for letter in h.dlq.letters] == ["not_json", "not_object"]
    assert h.profile(uscc).name


class _Counted:
    """A dead-letter sink that, like the Kafka one, keeps nothing once they are sent."""

    def __init__(self) -> None:
        self.count = 0

    async def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        self.count += len(letters)


async def test_a_dead_letter_does_not_keep_its_batch_alive(
    decoder: Decoder, factory: EventFactory
) -> None:
    """The error kept for a dead letter holds no traceback: one would hold the batch's
    frames, and through them every event and profile of the batch, in a reference cycle
    that only the cyclic collector frees (it cost a worker about a fifth of its CPU)."""
    sink = _Counted()
    feeder = Feeder(processor(decoder, dead_letters=sink))
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        await feeder.feed(b"{oops", factory.registered(factory.uscc(), time=T0))
        gc.collect()
        kept = [o for o in gc.garbage if isinstance(o, Event)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert sink.count == 1
    assert kept == []


async def test_dishonest_officer_listed_then_appointed(h: Harness, factory: EventFactory) -> None:
    boss = factory.person()
    await h.feed(factory.debtor_listed_person(boss, time=T0))
    assert not h.open_alerts("dishonest_officer")
    uscc = factory.uscc()
    await h.feed(factory.registered(uscc, legal_rep=boss, time=T0 + timedelta(days=3)))
    [alert] = h.open_alerts("dishonest_officer")
    assert alert.subject.id == uscc
    assert alert.severity == "critical"
    assert "失信被执行人" in alert.explanation
    assert "350,000" in alert.explanation
    assert boss["id_number"] not in alert.model_dump_json()
    assert {ev.type for ev in alert.evidence} == {"enterprise.registered", "debtor.listed"}


async def test_dishonest_officer_appointed_then_listed(h: Harness, factory: EventFactory) -> None:
    director = factory.person("director")
    a, b = factory.uscc(), factory.uscc()
    await h.feed(
        factory.registered(a, officers=[director], time=T0),
        factory.registered(b, officers=[director], time=T0),
    )
    assert not h.open_alerts("dishonest_officer")
    await h.feed(factory.debtor_listed_person(director, time=T0 + timedelta(days=9)))
    alerts = h.open_alerts("dishonest_officer")
    assert sorted(x.subject.id for x in alerts) == sorted([a, b])  # fanned out to both
    assert all("董事" in x.explanation for x in alerts)


async def test_person_many_companies_one_alert_that_grows(
    h: Harness, factory: EventFactory
) -> None:
    front = factory.person()
    companies = [factory.uscc() for _ in range(6)]
    await h.feed(*[factory.registered(u, legal_rep=front, time=T0) for u in companies[:4]])
    assert not h.open_alerts("person_many_companies")
    await h.feed(factory.registered(companies[4], legal_rep=front, time=T0))
    [alert] = h.open_alerts("person_many_companies")
    assert alert.subject.kind == "person"
    assert sorted(alert.enterprises) == sorted(companies[:5])
    await h.feed(factory.registered(companies[5], legal_rep=front, time=T0))
    [grown] = h.open_alerts("person_many_companies")
    assert grown.alert_id == alert.alert_id
    assert grown.revision == 2
    assert sorted(grown.enterprises) == sorted(companies)


async def test_deregistered_companies_do_not_count(h: Harness, factory: EventFactory) -> None:
    front = factory.person()
    companies = [factory.uscc() for _ in range(5)]
    await h.feed(*[factory.registered(u, legal_rep=front, time=T0) for u in companies[:4]])
    await h.feed(
        factory.event("enterprise.deregistered", companies[0], {"reason": "注销"}, time=T0)
    )
    await h.feed(factory.registered(companies[4], legal_rep=front, time=T0))
    assert not h.open_alerts("person_many_companies")


async def test_same_address_cluster_with_variant_spellings(
    h: Harness, factory: EventFactory
) -> None:
    spellings = [
        "广东省深圳市南山区桂湾五路１２８号",
        "南山区 桂湾五路128號",
        "深圳市南山区桂湾五路128号",
        "南山區桂灣五路128号",
        "广东省 深圳市 南山区 桂湾五路 128 号",
    ]
    days = [
        T0 - timedelta(days=900),
        T0 - timedelta(days=800),
        T0 - timedelta(days=100),
        T0 - timedelta(days=20),
        T0,
    ]
    usccs = [factory.uscc() for _ in spellings]
    await h.feed(
        *[
            factory.registered(u, address=addr, registered_on=d.date(), time=d)
            for u, addr, d in zip(usccs[:4], spellings, days, strict=False)
        ]
    )
    assert not h.open_alerts("same_address_cluster")
    await h.feed(
        factory.registered(usccs[4], address=spellings[4], registered_on=days[4].date(), time=T0)
    )
    [alert] = h.open_alerts("same_address_cluster")
    assert alert.subject.kind == "address"
    assert alert.subject.id == "南山区桂湾五路128号"
    assert sorted(alert.enterprises) == sorted(usccs)
    assert "5家" in alert.explanation
    assert "3家" in alert.explanation


async def test_same_address_needs_recent_registrations(h: Harness, factory: EventFactory) -> None:
    old = [T0 - timedelta(days=d) for d in (2000, 1500, 1000, 500)]
    events = [
        factory.registered(address="南山区前湾一路1号", registered_on=d.date(), time=d) for d in old
    ]
    events.append(factory.registered(address="南山区前湾一路1号", registered_on=T0.date(), time=T0))
    await h.feed(*events)
    assert not h.open_alerts("same_address_cluster")  # only 1 within 180 days of the newest


async def test_tax_arrears_threshold_and_rating(h: Harness, factory: EventFactory) -> None:
    a, b, c = factory.uscc(), factory.uscc(), factory.uscc()
    await h.feed(*(factory.registered(u, time=T0) for u in (a, b, c)))
    await h.feed(
        factory.tax_arrears(a, 99_999.0, time=T0), factory.tax_arrears(b, 100_000.0, time=T0)
    )
    await h.feed(factory.event("tax.credit_rated", c, {"year": 2025, "rating": "D"}, time=T0))
    fired = sorted(x.subject.id for x in h.open_alerts("tax_arrears"))
    assert fired == sorted([b, c])
    [arrears] = [x for x in h.open_alerts("tax_arrears") if x.subject.id == b]
    assert "100,000元" in arrears.explanation


async def test_replayed_hit_publishes_nothing_new(h: Harness, factory: EventFactory) -> None:
    uscc = factory.uscc()
    reg, arrears = factory.registered(uscc, time=T0), factory.tax_arrears(uscc, 500_000.0, time=T0)
    await h.feed(reg, arrears)
    published = len(h.alerts.feed)
    await h.feed(reg, arrears)  # a replay after a crash
    assert len(h.alerts.feed) == published
    later = factory.tax_arrears(uscc, 800_000.0, time=T0 + timedelta(days=30))
    await h.feed(later)
    [alert] = h.open_alerts("tax_arrears")
    assert alert.hits == 2
    # The new report moves the score but not the letter (C): the open grade_downgrade
    # alert re-states the fall, so only the tax_arrears update is published.
    assert [a.rule_id for _, _, a in h.alerts.feed[published:]] == ["tax_arrears"]
    [fall] = h.open_alerts("grade_downgrade")
    assert [e.event_id for e in fall.evidence] == [reg["id"], arrears["id"]]


class RecordingModel:
    """A WarningModel that records the order of scoring and learning."""

    def __init__(self) -> None:
        from rules.models.early_warning import EarlyWarningModel

        self.inner = EarlyWarningModel()
        self.log: list[str] = []
        self.learned: list[Any] = []

    async def model(self) -> Any:
        self.log.append("model")
        return self.inner

    async def offer(self, labels: Sequence[Any]) -> Any:
        self.log.append("offer")
        self.learned += labels
        for label in labels:
            self.inner.learn(label.x, label.violation)
        return None


async def test_the_model_scores_before_it_learns(decoder: Decoder, factory: EventFactory) -> None:
    from rules.early_warning import EarlyWarning

    model = RecordingModel()
    h = Harness(decoder, model=model, model_inputs=EarlyWarning.inputs)
    uscc = factory.uscc()
    await h.feed(factory.registered(uscc, time=T0))
    assert model.learned == []
    await h.feed(
        factory.inspection(uscc, violation=True, time=T0),
        factory.inspection(uscc, violation=None, time=T0),  # undecided: not a label
    )
    assert model.log[-2:] == ["model", "offer"]
    assert [label.violation for label in model.learned] == [True]
    assert model.inner.n_learned == 1
