"""Rules end to end through the batch processor on the in-memory stores: alerts open, grow
as members join, fire on late events, and resolve (with the reason) when what they rested
on ends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.memory import MemoryAlertStore
from core.clock import FakeClock
from rules.examples import Kit
from streams.alert import Alert, AlertStatus
from streams.codec import Decoder

from .example_kit import example_kit
from .pipeline_kit import Feeder, processor


class Harness(Feeder):
    def __init__(self, decoder: Decoder) -> None:
        self.alerts = MemoryAlertStore()
        clock = FakeClock(datetime(2026, 6, 1, tzinfo=UTC))
        super().__init__(processor(decoder, alerts=self.alerts, clock=clock))

    def alerts_of(self, rule_id: str, subject_id: str | None = None) -> list[Alert]:
        return [
            a
            for a in self.alerts.by_id.values()
            if a.rule_id == rule_id and subject_id in (None, a.subject.id)
        ]

    def open(self, rule_id: str, subject_id: str | None = None) -> list[Alert]:
        return [a for a in self.alerts_of(rule_id, subject_id) if a.status.is_open]


@pytest.fixture
def h(decoder: Decoder) -> Harness:
    return Harness(decoder)


@pytest.fixture
def kit() -> Kit:
    return example_kit(seed=31)


# -- dishonest_officer ---------------------------------------------------------------------


async def test_listed_appointed_then_removed_resolves_with_the_reason(h: Harness, kit: Kit) -> None:
    boss = kit.person()
    uscc = kit.f.uscc()
    await h.feed(kit.f.debtor_listed_person(boss, time=kit.day(0)))
    await h.feed(kit.registered(uscc, legal_rep=boss, day=2))
    [alert] = h.open("dishonest_officer", uscc)
    await h.feed(kit.debtor_removed(boss, "performed", day=30))
    assert h.open("dishonest_officer") == []
    [resolved] = h.alerts_of("dishonest_officer", uscc)
    assert resolved.alert_id == alert.alert_id
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.status_reason is not None
    assert resolved.status_reason.startswith("失信被执行人名单已移出（履行完毕）")
    assert boss["id_number"] not in resolved.model_dump_json()
    assert [change for _, change, a in h.alerts.feed if a.alert_id == alert.alert_id] == [
        "created",
        "status",
    ]


async def test_appointed_then_listed_then_repaired_resolves_every_enterprise(
    h: Harness, kit: Kit
) -> None:
    director = kit.person("director")
    a, b = kit.f.uscc(), kit.f.uscc()
    await h.feed(kit.registered(a, officers=[director]), kit.registered(b, officers=[director]))
    assert h.open("dishonest_officer") == []
    await h.feed(kit.f.debtor_listed_person(director, time=kit.day(5)))
    assert sorted(x.subject.id for x in h.open("dishonest_officer")) == sorted([a, b])
    await h.feed(kit.debtor_removed(director, "credit_repair", day=40))
    assert h.open("dishonest_officer") == []
    reasons = {x.status_reason for x in h.alerts_of("dishonest_officer")}
    assert all(r and r.startswith("失信被执行人名单已移出（信用修复）") for r in reasons)


async def test_removed_from_the_list_then_appointed_fires_nothing(h: Harness, kit: Kit) -> None:
    boss = kit.person()
    await h.feed(kit.f.debtor_listed_person(boss, time=kit.day(0)))
    await h.feed(kit.debtor_removed(boss, "credit_repair", day=10))
    await h.feed(kit.registered(legal_rep=boss, day=20))
    assert h.alerts_of("dishonest_officer") == []


async def test_the_alert_stays_open_while_someone_is_still_listed(h: Harness, kit: Kit) -> None:
    boss, director = kit.person(), kit.person("director")
    uscc = kit.f.uscc()
    await h.feed(
        kit.f.debtor_listed_person(boss, time=kit.day(0)),
        kit.f.debtor_listed_person(director, case_no="(2026)粤0305执88号", time=kit.day(0)),
    )
    await h.feed(kit.registered(uscc, legal_rep=boss, officers=[director], day=1))
    await h.feed(kit.debtor_removed(boss, day=10))
    assert len(h.open("dishonest_officer", uscc)) == 1
    second = kit.f.event(
        "debtor.removed",
        "P:" + director["id_number"],
        {"case_no": "(2026)粤0305执88号", "reason": "revoked"},
        time=kit.day(11),
    )
    await h.feed(second)
    assert h.open("dishonest_officer", uscc) == []


async def test_listed_and_removed_in_one_batch_leaves_nothing_open(h: Harness, kit: Kit) -> None:
    boss = kit.person()
    await h.feed(kit.registered(legal_rep=boss))
    await h.feed(kit.f.debtor_listed_person(boss, time=kit.day(1)), kit.debtor_removed(boss, day=2))
    assert h.open("dishonest_officer") == []


# -- tax_arrears, unreachable_contact, shell_company ---------------------------------------


async def test_cleared_arrears_resolve_the_alert(h: Harness, kit: Kit) -> None:
    uscc = kit.f.uscc()
    await h.feed(kit.registered(uscc), kit.f.tax_arrears(uscc, 180_000.0, time=kit.day(1)))
    assert len(h.open("tax_arrears", uscc)) == 1
    cleared = kit.f.event("tax.arrears_cleared", uscc, {"amount": 180_000.0}, time=kit.day(9))
    await h.feed(cleared)
    [alert] = h.alerts_of("tax_arrears", uscc)
    assert alert.status is AlertStatus.RESOLVED
    assert alert.status_reason == "欠缴税款已清缴180,000元，剩余欠税0元，低于阈值100,000元"


async def test_a_removed_listing_resolves_unreachable_and_shell_company(
    h: Harness, kit: Kit
) -> None:
    uscc = kit.f.uscc()
    await h.feed(kit.registered(uscc, capital_paid=0.0), kit.abnormal_listed(uscc, day=20))
    assert len(h.open("unreachable_contact", uscc)) == 1
    assert len(h.open("shell_company", uscc)) == 1
    await h.feed(kit.abnormal_removed(uscc, day=60))
    assert h.open("unreachable_contact") == h.open("shell_company") == []
    [unreachable] = h.alerts_of("unreachable_contact", uscc)
    assert unreachable.status_reason is not None
    assert "经营异常名录（无法联系）已移出" in unreachable.status_reason
    [shell] = h.alerts_of("shell_company", uscc)
    assert shell.status_reason == "空壳企业特征仅余0项，低于阈值2项"
    await h.feed(kit.abnormal_listed(uscc, day=90))  # listed again: a new alert
    [again] = h.open("unreachable_contact", uscc)
    assert again.alert_id != unreachable.alert_id


# -- windows, late events and hubs --------------------------------------------------------


async def test_a_late_event_fires_through_the_pipeline(h: Harness, kit: Kit) -> None:
    uscc = kit.f.uscc()
    await h.feed(kit.registered(uscc, day=-400))
    await h.feed(kit.shareholders_changed(uscc, day=90), kit.shareholders_changed(uscc, day=200))
    assert h.open("frequent_shareholder_change") == []
    late = kit.shareholders_changed(uscc, day=0)
    await h.feed(late)
    assert h.open("frequent_shareholder_change") == []  # days 0 and 90 only: two
    await h.feed(kit.shareholders_changed(uscc, day=45))
    [alert] = h.open("frequent_shareholder_change", uscc)
    assert late["id"] in {ev.event_id for ev in alert.evidence}
    assert "变更股东3次" in alert.explanation


async def test_an_address_cluster_names_every_member_and_grows(h: Harness, kit: Kit) -> None:
    address = "深圳市南山区前海大道9号"
    first = [kit.registered(address=address, day=d) for d in range(5)]
    await h.feed(*first[:4])
    assert h.open("same_address_cluster") == []
    await h.feed(first[4])
    [alert] = h.open("same_address_cluster")
    assert sorted(alert.enterprises) == sorted(r["subject"] for r in first)
    sixth = kit.registered(address="广东省深圳市南山区前海大道９号", day=6)
    await h.feed(sixth)
    [grown] = h.open("same_address_cluster")
    assert grown.alert_id == alert.alert_id
    assert grown.enterprises[0] == sixth["subject"]  # the hub's members, newest first
    assert len(grown.enterprises) == grown.enterprises_total == 6
    assert grown.revision == 2
