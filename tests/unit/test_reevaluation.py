"""Verdicts that depend on other enterprises' facts are the same whichever arrived first:
dependents are re-evaluated when a shared fact changes (bounded, the overflow counted),
hub alerts clear when the hub no longer holds, and a person's fact that arrives before the
enterprise named the person grades it as in time."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Collection
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from alerts.memory import MemoryAlertStore
from processors.dependents import changed_by, pick
from processors.grades import MemoryGradeStore
from processors.profiles.memory import MemoryProfileStore
from simulate.factory import EventFactory
from streams.codec import Decoder
from streams.profile import EnterpriseProfile
from streams.profile_store import Hub

from .pipeline_kit import T0, Feeder, processor

ADDRESS = "广东省深圳市南山区桂湾五路１２８号"


class World(Feeder):
    def __init__(self, decoder: Decoder, **options: Any) -> None:
        self.alerts = MemoryAlertStore()
        self.grades = MemoryGradeStore()
        super().__init__(
            processor(
                decoder,
                store=MemoryProfileStore(),
                alerts=self.alerts,
                grades=self.grades,
                **options,
            )
        )

    def open(self, rule_id: str) -> set[tuple[str, tuple[str, ...]]]:
        return {
            (a.subject.id, tuple(sorted(a.enterprises)))
            for a in self.alerts.by_id.values()
            if a.rule_id == rule_id and a.status.is_open
        }

    async def feed_each(self, *events: dict[str, Any]) -> None:
        for event in events:  # one batch each: the order is the order they arrive in
            await self.feed(event)


def day(n: int) -> Any:
    return T0 + timedelta(days=n)


def failed(factory: EventFactory, uscc: str, n: int) -> dict[str, Any]:
    data = {"department": "samr", "channel": "phone"}
    return factory.event("contact.failed", uscc, data, time=day(n))


def shell_and_cluster(factory: EventFactory) -> tuple[str, list[dict[str, Any]], list[Any]]:
    """A firm with no paid-in capital and two failed contacts (one indicator), and four
    firms registered at its address before those contacts (the cluster: a second one)."""
    firm = factory.uscc()
    own = [
        factory.registered(firm, address=ADDRESS, capital_paid=0.0, time=day(0)),
        failed(factory, firm, 10),
        failed(factory, firm, 20),
    ]
    others = [factory.registered(address=ADDRESS, time=day(2 + i)) for i in range(4)]
    return firm, own, others


async def test_a_cluster_completed_after_the_firms_facts_reevaluates_it(
    decoder: Decoder, factory: EventFactory
) -> None:
    firm, own, others = shell_and_cluster(factory)
    late, in_time = World(decoder), World(decoder)
    await late.feed_each(*own, *others)  # the firm's facts first, the cluster late
    await in_time.feed_each(own[0], *others, *own[1:])
    assert late.open("shell_company") == {(firm, (firm,))}
    assert late.open("shell_company") == in_time.open("shell_company")
    assert late.open("same_address_cluster") == in_time.open("same_address_cluster")


async def test_a_legal_rep_crossing_the_company_threshold_reevaluates_the_firm(
    decoder: Decoder, factory: EventFactory
) -> None:
    front = factory.person()
    firm = factory.uscc()
    world = World(decoder)
    await world.feed_each(
        factory.registered(firm, legal_rep=front, capital_paid=0.0, time=day(0)),
        failed(factory, firm, 10),
        failed(factory, firm, 20),
    )
    assert world.open("shell_company") == set()
    for i in range(4):
        await world.feed(factory.registered(legal_rep=front, time=day(2 + i)))
    assert world.open("shell_company") == {(firm, (firm,))}


async def test_a_hub_over_the_cap_reevaluates_the_newest_and_counts_the_rest(
    decoder: Decoder, factory: EventFactory
) -> None:
    """Members are read newest first: with a cap of 2 the firm (the oldest) is left out."""
    _, own, others = shell_and_cluster(factory)
    world = World(decoder, fanout_cap=2)
    before = REGISTRY.get_sample_value("riskwire_fanout_overflow_total", {"hub": "addr"}) or 0.0
    await world.feed_each(*own, *others)
    after = REGISTRY.get_sample_value("riskwire_fanout_overflow_total", {"hub": "addr"})
    # The 3rd, 4th and 5th registrations each found a hub of 3, 4 and 5 over the cap of 2.
    assert after == before + (3 - 2) + (4 - 2) + (5 - 2)
    assert world.open("shell_company") == set()


async def test_a_deregistration_clears_the_cluster_and_the_front_man(
    decoder: Decoder, factory: EventFactory
) -> None:
    front = factory.person()
    firms = [factory.uscc() for _ in range(5)]
    world = World(decoder)
    for i, uscc in enumerate(firms):
        await world.feed(factory.registered(uscc, legal_rep=front, address=ADDRESS, time=day(i)))
    assert len(world.open("same_address_cluster")) == 1
    assert len(world.open("person_many_companies")) == 1
    gone = factory.event("enterprise.deregistered", firms[0], {"reason": "注销"}, time=day(9))
    await world.feed(gone)
    assert world.open("same_address_cluster") == set()
    assert world.open("person_many_companies") == set()


@pytest.mark.parametrize("leaves_first", [False, True])
async def test_a_member_that_leaves_a_cluster_that_still_holds_is_dropped_in_any_order(
    decoder: Decoder, factory: EventFactory, leaves_first: bool
) -> None:
    """Six firms at one address, one of them moves away (the other five still make a
    cluster): the open alert names the five, whether the move was processed before the
    others registered or after."""
    firms = [factory.uscc() for _ in range(6)]
    joins = [factory.registered(u, address=ADDRESS, time=day(i)) for i, u in enumerate(firms)]
    moved = factory.changed(firms[0], "address_registered", "北京市朝阳区建国路1号", time=day(9))
    world = World(decoder)
    if leaves_first:
        await world.feed_each(joins[0], moved, *joins[1:])
    else:
        await world.feed_each(*joins, moved)
    [(_, members)] = world.open("same_address_cluster")
    assert members == tuple(sorted(firms[1:]))


class HeldHubRead(MemoryProfileStore):
    """A profile store that, once, holds a rules' read of an address hub (made with the
    default cap) until ``meanwhile`` has run: another worker's batch between this worker's
    read of the hub and its write."""

    def __init__(self) -> None:
        super().__init__()
        self.meanwhile: Callable[[], Awaitable[object]] | None = None

    async def hubs(self, indices: Collection[str], cap: int = 500) -> dict[str, Hub]:
        read = await super().hubs(indices, cap)
        if self.meanwhile is not None and cap == 500 and any(i[:5] == "addr:" for i in indices):
            meanwhile, self.meanwhile = self.meanwhile, None
            await meanwhile()
        return read


async def test_a_cluster_alert_written_from_a_stale_hub_read_is_judged_again(
    decoder: Decoder, factory: EventFactory
) -> None:
    """A sixth firm registers at a cluster's address while, between its worker's read of
    the hub and its write, another worker moves the first firm away and writes the alert:
    the slow worker's write names the member that left, so it judges the hub again."""
    firms = [factory.uscc() for _ in range(6)]
    store, alerts, grades = HeldHubRead(), MemoryAlertStore(), MemoryGradeStore()
    fast = Feeder(processor(decoder, store=store, alerts=alerts, grades=grades))
    slow = Feeder(processor(decoder, store=store, alerts=alerts, grades=grades))
    for i, uscc in enumerate(firms[:5]):
        await fast.feed(factory.registered(uscc, address=ADDRESS, time=day(i)))
    moved = factory.changed(firms[0], "address_registered", "北京市朝阳区建国路1号", time=day(9))
    store.meanwhile = lambda: fast.feed(moved)
    await slow.feed(factory.registered(firms[5], address=ADDRESS, time=day(5)))
    assert store.meanwhile is None, "the other worker ran in between"
    [alert] = [a for a in alerts.by_id.values() if a.status.is_open]
    assert (alert.rule_id, sorted(alert.enterprises)) == ("same_address_cluster", sorted(firms[1:]))


async def test_a_person_who_leaves_one_of_many_companies_is_dropped_from_its_members(
    decoder: Decoder, factory: EventFactory
) -> None:
    front, other = factory.person(), factory.person()
    firms = [factory.uscc() for _ in range(6)]
    world = World(decoder)
    for i, uscc in enumerate(firms):
        await world.feed(factory.registered(uscc, legal_rep=front, time=day(i)))
    await world.feed(factory.changed(firms[0], "legal_rep", other, time=day(9)))
    [(_, members)] = world.open("person_many_companies")
    assert members == tuple(sorted(firms[1:]))


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
async def test_a_persons_listing_grades_the_same_whichever_arrives_first(
    decoder: Decoder, factory: EventFactory, order: tuple[int, ...]
) -> None:
    """Registration (day 0), a tax report (day 1) and the legal rep's listing (day 5), in
    every order: the same grade letter, and the same grade_downgrade verdict."""
    boss = factory.person()
    uscc = factory.uscc()
    events = [
        factory.registered(uscc, legal_rep=boss, time=day(0)),
        factory.tax_paid(uscc, time=day(1)),
        factory.debtor_listed_person(boss, time=day(5)),
    ]
    in_time, shuffled = World(decoder), World(decoder)
    await in_time.feed_each(*events)
    await shuffled.feed_each(*(events[i] for i in order))
    letter = (await in_time.grades.current([uscc]))[uscc].grade
    assert (await shuffled.grades.current([uscc]))[uscc].grade == letter
    assert shuffled.open("grade_downgrade") == in_time.open("grade_downgrade")
    assert shuffled.open("dishonest_officer") == in_time.open("dishonest_officer") != set()


def registers_and_falls(factory: EventFactory) -> tuple[str, list[dict[str, Any]]]:
    """A firm registers and, at the same instant, three cases and arrears arrive on other
    topics (the board subscription test's feed): its grade falls from B to C."""
    firm = factory.uscc()
    return firm, [
        factory.registered(firm, time=T0),
        *(factory.case_filed(firm, time=T0) for _ in range(3)),
        factory.tax_arrears(firm, 500_000.0, time=T0),
    ]


@pytest.mark.parametrize("order", [(0, 1, 2, 3, 4), (4, 3, 2, 1, 0), (1, 4, 0, 3, 2)])
async def test_a_firm_that_registers_and_falls_to_c_fires_in_any_order(
    decoder: Decoder, factory: EventFactory, order: tuple[int, ...]
) -> None:
    """One batch or one batch per event, in any order: the grade it came in with (from
    the facts dated before its first) is B, the grade now C, so grade_downgrade is open."""
    firm, events = registers_and_falls(factory)
    together, apart = World(decoder), World(decoder)
    await together.feed(*(events[i] for i in order))
    await apart.feed_each(*(events[i] for i in order))
    assert (await together.grades.current([firm]))[firm].grade == "C"
    assert together.open("grade_downgrade") == {(firm, (firm,))}
    assert apart.open("grade_downgrade") == together.open("grade_downgrade")


def test_the_hubs_an_event_changes() -> None:
    ent = EnterpriseProfile.model_validate(
        {
            "uscc": "U1",
            "address_norm": "a",
            "legal_rep": {"key": "p", "masked": "m", "name": "n", "birth_date": "1980-01-01"},
        }
    )
    assert changed_by("enterprise.registered", None, ent, ()) == {"addr:a", "person:p"}
    assert changed_by("enterprise.changed", "address_registered", ent, ["addr:old"]) == {
        "addr:a",
        "addr:old",
    }
    assert changed_by("enterprise.changed", "legal_rep", ent, ["retired:x"]) == {"person:p"}
    assert changed_by("enterprise.changed", "capital_paid", ent, ["addr:a"]) == set()
    assert changed_by("tax.paid", None, ent, ["addr:a"]) == set()


def test_pick_leaves_out_the_changer_and_keeps_the_last_trigger() -> None:
    hubs = {
        "addr:a": Hub("addr:a", 2, [("U1", 2.0), ("U2", 1.0)]),
        "person:p": Hub("person:p", 2, [("U2", 0.0), ("U3", 0.0)]),
    }
    picked = pick({"addr:a": ("first", "U1"), "person:p": ("second", "U3")}, hubs, cap=10)
    assert sorted(picked) == ["U2"]
    assert picked["U2"].trigger == "second"
    assert picked["U2"].via == {"addr:a", "person:p"}


class HeldRead(MemoryProfileStore):
    """A profile store that, once, runs ``meanwhile`` right after a worker read a profile
    of ``kind`` (``per``, ``ent``) to judge an enterprise: another worker's batch between
    that read and the verdicts' write."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.meanwhile: Callable[[], Awaitable[object]] | None = None

    async def load(self, asks: Any) -> Any:
        read = await super().load(asks)
        judged = any(ref.kind == self.kind and not stamps for ref, stamps in asks.items())
        if self.meanwhile is not None and judged:
            meanwhile, self.meanwhile = self.meanwhile, None
            await meanwhile()
        return read


async def test_a_hit_from_a_person_read_before_the_listing_ended_is_withdrawn(
    decoder: Decoder, factory: EventFactory
) -> None:
    """A firm registers with a listed legal rep while, between its worker's read of the
    person and its write, another worker removes the listing (and finds no alert yet to
    clear): the slow worker judges the firm again from the moved person, which gives no
    verdict for a registration, so the alert its stale read created must be withdrawn.
    In every sequential order (listed, removed, registered; or registered first) no
    dishonest_officer alert is open at the end."""
    boss, uscc = factory.person(), factory.uscc()
    store, alerts, grades = HeldRead("per"), MemoryAlertStore(), MemoryGradeStore()
    fast = Feeder(processor(decoder, store=store, alerts=alerts, grades=grades))
    slow = Feeder(processor(decoder, store=store, alerts=alerts, grades=grades))
    await fast.feed(factory.debtor_listed_person(boss, time=day(0)))
    removed = factory.event(
        "debtor.removed",
        "P:" + boss["id_number"],
        {"case_no": "(2026)粤0305执1234号", "reason": "performed", "debtor_type": "person"},
        time=day(1),
    )
    store.meanwhile = lambda: fast.feed(removed)
    await slow.feed(factory.registered(uscc, legal_rep=boss, time=day(2)))
    assert store.meanwhile is None, "the other worker ran in between"
    still = {a.rule_id for a in alerts.by_id.values() if a.status.is_open}
    assert "dishonest_officer" not in still
    alone = World(decoder)
    await alone.feed_each(
        factory.debtor_listed_person(boss, time=day(0)),
        removed,
        factory.registered(uscc, legal_rep=boss, time=day(2)),
    )
    assert (await grades.current([uscc]))[uscc] == (await alone.grades.current([uscc]))[uscc]
    assert alone.open("grade_downgrade") == {
        (a.subject.id, tuple(a.enterprises))
        for a in alerts.by_id.values()
        if a.rule_id == "grade_downgrade" and a.status.is_open
    }


async def test_a_late_listing_judged_while_the_firm_is_deregistered_opens_nothing(
    decoder: Decoder, factory: EventFactory
) -> None:
    """The legal rep's listing (dated before the deregistration) reaches a worker that reads
    the firm while it is live; between that read and the write, another worker deregisters
    the firm and closes its alerts. The slow worker's alerts come from a firm that no longer
    exists, and its judgement again from the newest profile says nothing (a deregistered
    firm gets no verdicts): they are withdrawn, as in every sequential order."""
    boss, uscc = factory.person(), factory.uscc()
    store, alerts, grades = HeldRead("ent"), MemoryAlertStore(), MemoryGradeStore()
    fast = Feeder(processor(decoder, store=store, alerts=alerts, grades=grades))
    slow = Feeder(processor(decoder, store=store, alerts=alerts, grades=grades))
    await fast.feed(factory.registered(uscc, legal_rep=boss, time=day(0)))
    gone = factory.event("enterprise.deregistered", uscc, {"reason": "股东会决议解散"}, time=day(9))
    store.meanwhile = lambda: fast.feed(gone)
    await slow.feed(factory.debtor_listed_person(boss, time=day(5)))
    assert store.meanwhile is None, "the other worker ran in between"
    assert [a.rule_id for a in alerts.by_id.values() if a.status.is_open] == []


async def test_a_clear_from_a_stale_hub_read_does_not_undo_the_fresher_hit(
    decoder: Decoder, factory: EventFactory
) -> None:
    """A shell firm's cluster gets its fourth other member on one worker while a third is
    registered on another: the slow worker re-evaluates the firm from an address hub read
    without the fourth (no cluster: a clear), and the fast worker, from the full hub, opens
    the alert before the slow clear lands. The firm's profile never moved, so only a check
    of the hub it read finds the clear stale; the firm is judged again and stays open."""
    firm, own, others = shell_and_cluster(factory)
    store, alerts, grades = HeldHubRead(), MemoryAlertStore(), MemoryGradeStore()
    fast = Feeder(processor(decoder, store=store, alerts=alerts, grades=grades))
    slow = Feeder(processor(decoder, store=store, alerts=alerts, grades=grades))
    for event in (*own, *others[:2]):
        await fast.feed(event)
    store.meanwhile = lambda: fast.feed(others[3])
    await slow.feed(others[2])
    assert store.meanwhile is None, "the other worker ran in between"
    shells = [a.subject.id for a in alerts.by_id.values() if a.rule_id == "shell_company"]
    assert shells, "the fast worker opened the alert"
    in_time = World(decoder)
    await in_time.feed_each(*own, *others)
    assert in_time.open("shell_company") == {(firm, (firm,))}
    assert {
        a.subject.id
        for a in alerts.by_id.values()
        if a.rule_id == "shell_company" and a.status.is_open
    } == {firm}


async def test_a_grade_read_before_its_person_existed_is_judged_again(
    decoder: Decoder, factory: EventFactory
) -> None:
    """The firm names a legal rep who has no profile yet. Its worker reads the person
    (nothing there) to grade a tax payment; between that read and the write, another
    worker applies the person's listing, dated earlier, and grades the firm with it. The
    slow worker's grade, without the listing, lands last at the same time. A person read
    as missing is read all the same: the firm is judged again once the person appears, and
    its grade is the one every sequential order gives (seed 11, small scale, 4 workers:
    A instead of C)."""
    boss, uscc = factory.person(), factory.uscc()
    store, alerts, grades = HeldRead("per"), MemoryAlertStore(), MemoryGradeStore()
    fast = Feeder(processor(decoder, store=store, alerts=alerts, grades=grades))
    slow = Feeder(processor(decoder, store=store, alerts=alerts, grades=grades))
    registered = factory.registered(uscc, legal_rep=boss, time=day(0))
    listed = factory.debtor_listed_person(boss, time=day(5))
    paid = factory.tax_paid(uscc, time=day(10))
    await fast.feed(registered)
    store.meanwhile = lambda: fast.feed(listed)
    await slow.feed(paid)
    assert store.meanwhile is None, "the other worker ran in between"
    alone = World(decoder)
    await alone.feed_each(registered, listed, paid)
    want = (await alone.grades.current([uscc]))[uscc]
    got = (await grades.current([uscc]))[uscc]
    assert "legal_rep_dishonest" in {f.code for f in want.factors}
    assert (got.grade, got.signature()) == (want.grade, want.signature())


async def test_a_former_representatives_later_facts_do_not_move_the_grade(
    decoder: Decoder, factory: EventFactory
) -> None:
    """A firm's first legal rep is replaced; it pays tax for months and is deregistered. The
    former rep is listed and removed long after. Whether the former rep's events arrive
    before the firm's replacement of them (other topics, other partitions) or after, the
    firm's final grade is the same: it is graded as of its own facts and its people's, not
    at the former rep's removal, where its payments would have left the window (medium order
    replay, seeds 634978 and 634981: A vs B)."""
    old, new, uscc = factory.person(), factory.person(), factory.uscc()
    registered = factory.registered(uscc, legal_rep=old, time=day(0))
    replaced = factory.event(
        "enterprise.changed", uscc, {"field": "legal_rep", "old": old, "new": new}, time=day(30)
    )
    paid = [factory.tax_paid(uscc, time=day(40 + 30 * m)) for m in range(10)]
    gone = factory.event(
        "enterprise.deregistered", uscc, {"reason": "股东会决议解散"}, time=day(340)
    )
    case = {"case_no": "(2026)粤0305执1234号", "reason": "performed", "debtor_type": "person"}
    listed = factory.debtor_listed_person(old, time=day(700))
    removed = factory.event("debtor.removed", "P:" + old["id_number"], case, time=day(850))
    in_time, early = World(decoder), World(decoder)
    await in_time.feed_each(registered, replaced, *paid, gone, listed, removed)
    await early.feed_each(registered, listed, removed, replaced, *paid, gone)
    want = (await in_time.grades.current([uscc]))[uscc]
    got = (await early.grades.current([uscc]))[uscc]
    assert "tax_paid" in {f.code for f in want.factors}
    assert (got.grade, got.signature()) == (want.grade, want.signature())
