"""An alert's lifecycle: officers' transitions (valid ones only), publication through the
store's compare-and-set with retries, reopening on new evidence only (through the real
batch processor), and closing for a deregistered enterprise."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.dedup import merge
from alerts.lifecycle import (
    OFFICER_ACTIONS,
    TRANSITIONS,
    AlertNotFound,
    InvalidTransition,
    KeptChanging,
    act,
    close_for_deregistration,
    deregistration_fingerprints,
    transition,
)
from alerts.memory import MemoryAlertStore
from alerts.store import Upsert
from core.clock import FakeClock
from rules.base import Hit
from streams.alert import (
    Actor,
    Alert,
    AlertAction,
    AlertStatus,
    AlertSubject,
    Evidence,
    Severity,
)
from streams.codec import Decoder

from .example_kit import example_kit
from .pipeline_kit import Feeder, processor

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
OFFICER = Actor(account_id="01OFFICER", name="王值班", department="tax")
COLLEAGUE = Actor(account_id="01COLLEAGUE", name="李科员", department="tax")
S = AlertStatus
A = AlertAction


def evidence(event_id: str) -> Evidence:
    return Evidence(event_id=event_id, source="tax", type="tax.arrears", time=NOW, fact="欠税")


def an_alert(status: AlertStatus = S.OPEN, rule_id: str = "tax_arrears", **kw: Any) -> Alert:
    return Alert(
        alert_id="01ALERT",
        fingerprint=f"{rule_id}:enterprise:91350100M000100Y43",
        rule_id=rule_id,
        rule_version=1,
        severity=Severity.HIGH,
        subject=AlertSubject(kind="enterprise", id="91350100M000100Y43"),
        enterprises=["91350100M000100Y43"],
        title="欠税",
        explanation="欠税",
        evidence=[evidence("e1")],
        departments=["tax", "qianhai-authority"],
        event_time=NOW,
        created_at=NOW,
        updated_at=NOW,
        status=status,
        revision=3,
        **kw,
    )


def a_hit(*event_ids: str, rule_id: str = "tax_arrears", enterprises: Sequence[str] = ()) -> Hit:
    return Hit(
        rule_id=rule_id,
        rule_version=1,
        severity=Severity.HIGH,
        subject_kind="enterprise",
        subject_id="91350100M000100Y43",
        enterprises=["91350100M000100Y43", *enterprises],
        title="欠税",
        explanation="欠税",
        evidence=[evidence(e) for e in event_ids],
    )


# -- transitions ------------------------------------------------------------------------

VALID = [
    (S.OPEN, A.ACKNOWLEDGE, S.ACKNOWLEDGED),
    (S.OPEN, A.ASSIGN, S.ASSIGNED),
    (S.ACKNOWLEDGED, A.ASSIGN, S.ASSIGNED),
    (S.ASSIGNED, A.ASSIGN, S.ASSIGNED),
    (S.OPEN, A.RESOLVE, S.RESOLVED),
    (S.ACKNOWLEDGED, A.RESOLVE, S.RESOLVED),
    (S.ASSIGNED, A.RESOLVE, S.RESOLVED),
    (S.OPEN, A.DISMISS, S.DISMISSED),
    (S.ACKNOWLEDGED, A.DISMISS, S.DISMISSED),
    (S.ASSIGNED, A.DISMISS, S.DISMISSED),
]


@pytest.mark.parametrize(("before", "action", "after"), VALID)
def test_a_valid_transition_records_who_when_and_the_note(
    before: AlertStatus, action: AlertAction, after: AlertStatus
) -> None:
    assignee = COLLEAGUE if action is A.ASSIGN else None
    changed = transition(
        an_alert(before), action, by=OFFICER, now=NOW, note="已核实", assignee=assignee
    )
    assert changed.status is after
    assert changed.revision == 4
    assert changed.updated_at == NOW
    [entry] = changed.timeline
    assert (entry.action, entry.status, entry.by, entry.at, entry.note) == (
        action,
        after,
        OFFICER,
        NOW,
        "已核实",
    )
    assert changed.status_reason is not None
    assert changed.status_reason.endswith("：已核实")
    if action is A.ASSIGN:
        assert changed.assignee == COLLEAGUE
        assert entry.assignee == COLLEAGUE


def test_every_other_transition_is_refused() -> None:
    allowed = {(b, a) for b, a, _ in VALID}
    refused = [(b, a) for b in AlertStatus for a in OFFICER_ACTIONS if (b, a) not in allowed]
    assert (S.ACKNOWLEDGED, A.ACKNOWLEDGE) in refused
    assert (S.RESOLVED, A.DISMISS) in refused
    for before, action in refused:
        with pytest.raises(InvalidTransition) as info:
            transition(an_alert(before), action, by=OFFICER, now=NOW, assignee=COLLEAGUE)
        assert "不能" in str(info.value)


def test_closed_alerts_are_final_and_system_actions_are_not_officers() -> None:
    for final in (S.RESOLVED, S.DISMISSED):
        assert all(final not in TRANSITIONS[a][0] for a in OFFICER_ACTIONS)
    with pytest.raises(InvalidTransition):
        transition(an_alert(), A.REOPEN, by=OFFICER, now=NOW)


def test_an_assignment_needs_an_assignee() -> None:
    with pytest.raises(ValueError, match="assignee"):
        transition(an_alert(), A.ASSIGN, by=OFFICER, now=NOW)


# -- reopening only on new evidence (alerts.dedup.merge) ---------------------------------


@pytest.mark.parametrize("held", [S.ACKNOWLEDGED, S.ASSIGNED])
def test_new_evidence_reopens_a_held_alert(held: AlertStatus) -> None:
    merged = merge(an_alert(held), a_hit("e1", "e2"), event_time=NOW, now=NOW)
    assert merged is not None
    assert merged.status is S.OPEN
    assert merged.timeline[-1].action is A.REOPEN
    assert merged.timeline[-1].by is None
    assert merged.status_reason == "新证据1条到达，告警重新打开"


def test_a_replay_changes_nothing() -> None:
    assert merge(an_alert(S.ACKNOWLEDGED), a_hit("e1"), event_time=NOW, now=NOW) is None


def test_a_joining_enterprise_without_new_evidence_keeps_the_status() -> None:
    merged = merge(
        an_alert(S.ACKNOWLEDGED),
        a_hit("e1", enterprises=["91440300MA5DA1B2XK"]),
        event_time=NOW,
        now=NOW,
    )
    assert merged is not None
    assert merged.status is S.ACKNOWLEDGED
    assert merged.timeline == []


def test_a_rescore_is_not_new_evidence() -> None:
    held = an_alert(S.ACKNOWLEDGED, rule_id="early_warning")
    merged = merge(held, a_hit("e1", "e9", rule_id="early_warning"), event_time=NOW, now=NOW)
    assert merged is not None
    assert merged.status is S.ACKNOWLEDGED


def test_new_evidence_on_an_open_alert_adds_no_reopen_entry() -> None:
    merged = merge(an_alert(S.OPEN), a_hit("e1", "e2"), event_time=NOW, now=NOW)
    assert merged is not None
    assert merged.status is S.OPEN
    assert merged.timeline == []


# -- deregistration -----------------------------------------------------------------------


def test_deregistration_closes_with_the_reason() -> None:
    closed = close_for_deregistration(an_alert(S.ASSIGNED), NOW, "股东会决议解散")
    assert closed.status is S.RESOLVED
    assert closed.status_reason == "企业已注销（股东会决议解散），告警关闭"
    assert closed.revision == 4
    assert closed.timeline[-1].action is A.CLOSE
    already = an_alert(S.DISMISSED)
    assert close_for_deregistration(already, NOW) is already


def test_deregistration_fingerprints_cover_every_rule() -> None:
    fps = deregistration_fingerprints("91350100M000100Y43")
    assert "tax_arrears:enterprise:91350100M000100Y43" in fps
    assert len(fps) == 12


# -- act: compare-and-set, retries, visibility --------------------------------------------


class Store(MemoryAlertStore):
    """The memory store with ``get``, and a rival writer that can slip in first."""

    def __init__(self, *alerts: Alert, rival_writes: int = 0) -> None:
        super().__init__()
        for alert in alerts:
            self.by_id[alert.alert_id] = alert
            self.open[alert.fingerprint] = alert.alert_id
        self.rival_writes = rival_writes

    async def get(self, alert_id: str) -> Alert | None:
        return self.by_id.get(alert_id)

    async def upsert(self, upserts: Sequence[Upsert]) -> list[int | None]:
        if self.rival_writes:
            self.rival_writes -= 1
            current = self.by_id[upserts[0].alert.alert_id]
            self.by_id[current.alert_id] = current.model_copy(
                update={"revision": current.revision + 1}
            )
        return await super().upsert(upserts)


async def test_act_publishes_a_status_change_with_the_next_revision() -> None:
    store = Store(an_alert())
    alert, seq = await act(
        store, "01ALERT", A.ACKNOWLEDGE, by=OFFICER, now=lambda: NOW, visible=lambda a: True
    )
    assert alert.status is S.ACKNOWLEDGED
    assert seq == 1
    assert [(change, a.revision) for _, change, a in store.feed] == [("status", 4)]


async def test_act_retries_when_another_writer_got_there_first() -> None:
    store = Store(an_alert(), rival_writes=2)
    alert, _ = await act(
        store, "01ALERT", A.RESOLVE, by=OFFICER, now=lambda: NOW, visible=lambda a: True
    )
    assert alert.revision == 6  # 3, then two rival writes, then ours
    assert store.by_id["01ALERT"].status is S.RESOLVED


async def test_act_gives_up_when_the_alert_keeps_changing() -> None:
    store = Store(an_alert(), rival_writes=10_000)
    with pytest.raises(KeptChanging):
        await act(store, "01ALERT", A.RESOLVE, by=OFFICER, now=lambda: NOW, visible=lambda a: True)


async def test_act_hides_what_the_caller_may_not_see() -> None:
    store = Store(an_alert())
    for alert_id, visible in (("01ALERT", False), ("NOPE", True)):
        with pytest.raises(AlertNotFound):
            await act(
                store,
                alert_id,
                A.DISMISS,
                by=OFFICER,
                now=lambda: NOW,
                visible=lambda a, v=visible: v,
            )
    assert store.feed == []


# -- through the batch processor ------------------------------------------------------------


class Harness(Feeder):
    def __init__(self, decoder: Decoder) -> None:
        self.alerts = Store()
        self.clock = FakeClock(NOW)
        super().__init__(processor(decoder, alerts=self.alerts, clock=self.clock))

    def the(self, rule_id: str, uscc: str) -> Alert:
        [alert] = [
            a for a in self.alerts.by_id.values() if (a.rule_id, a.subject.id) == (rule_id, uscc)
        ]
        return alert


async def test_an_acknowledged_alert_reopens_only_when_new_evidence_arrives(
    decoder: Decoder,
) -> None:
    h, kit = Harness(decoder), example_kit(seed=41)
    uscc = kit.f.uscc()
    arrears = kit.f.tax_arrears(uscc, 180_000.0, time=kit.day(1))
    await h.feed(kit.registered(uscc), arrears)
    first = h.the("tax_arrears", uscc)
    await act(
        h.alerts, first.alert_id, A.ACKNOWLEDGE, by=OFFICER, now=h.clock.now, visible=lambda a: True
    )
    # A replay and a rating that is no finding (the score moves) leave it acknowledged.
    rated_b = kit.f.event("tax.credit_rated", uscc, {"year": 2025, "rating": "B"}, time=kit.day(3))
    await h.feed(arrears, rated_b)
    assert h.the("tax_arrears", uscc).status is S.ACKNOWLEDGED
    h.clock.advance(60)
    rated_d = kit.f.event("tax.credit_rated", uscc, {"year": 2025, "rating": "D"}, time=kit.day(4))
    await h.feed(rated_d)
    reopened = h.the("tax_arrears", uscc)
    assert reopened.status is S.OPEN
    assert [e.action for e in reopened.timeline] == [A.ACKNOWLEDGE, A.REOPEN]
    assert reopened.timeline[-1].at == NOW + timedelta(seconds=60)
    changes = [c for _, c, a in h.alerts.feed if a.alert_id == first.alert_id]
    assert changes == ["created", "status", "new_evidence"]


async def test_a_deregistration_closes_the_enterprises_open_alerts(decoder: Decoder) -> None:
    h, kit = Harness(decoder), example_kit(seed=43)
    uscc = kit.f.uscc()
    await h.feed(kit.registered(uscc), kit.f.tax_arrears(uscc, 180_000.0, time=kit.day(1)))
    gone = kit.f.event("enterprise.deregistered", uscc, {"reason": "股东会决议解散"})
    await h.feed(gone)
    closed = h.the("tax_arrears", uscc)
    assert closed.status is S.RESOLVED
    assert closed.status_reason == "企业已注销（股东会决议解散），告警关闭"
    await h.feed(gone)  # a replay closes nothing twice
    changes = [c for _, c, a in h.alerts.feed if a.alert_id == closed.alert_id]
    assert changes == ["created", "status"]
