"""An alert's life after it fires: officers acknowledge, assign, resolve or dismiss it, and
riskwire closes it when its enterprise is deregistered.

::

    open ──acknowledge──> acknowledged ──assign──> assigned
      │  └────────────assign─────────────────────────┘ │ (re-assign)
      └──resolve / dismiss (from any open status)──> resolved | dismissed (final)

    acknowledged | assigned ──new evidence (alerts.dedup.merge)──> open

Transitions are pure (:func:`transition`, :func:`close_for_deregistration`); :func:`act`
writes one through the alert store with the revision compare-and-set, re-reading and
re-checking on a conflict, so an officer's change and a rule's update never overwrite
each other, and each is published on the feed (Kafka, WebSocket) as a ``status`` change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Final, Protocol

from alerts.dedup import Change
from alerts.size import bounded
from alerts.store import Upsert
from core.cas import AGAIN, Again, compare_and_set
from core.errors import RiskwireError
from streams.alert import (
    Actor,
    Alert,
    AlertAction,
    AlertStatus,
    TimelineEntry,
    fingerprint,
    with_entry,
)
from streams.rule_catalog import RULE_IDS

MAX_ATTEMPTS = 20

_ACTIVE: Final = frozenset({AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.ASSIGNED})

# action -> (the statuses it may start from, the status it leads to)
TRANSITIONS: Final[Mapping[AlertAction, tuple[frozenset[AlertStatus], AlertStatus]]] = {
    AlertAction.ACKNOWLEDGE: (frozenset({AlertStatus.OPEN}), AlertStatus.ACKNOWLEDGED),
    AlertAction.ASSIGN: (_ACTIVE, AlertStatus.ASSIGNED),
    AlertAction.RESOLVE: (_ACTIVE, AlertStatus.RESOLVED),
    AlertAction.DISMISS: (_ACTIVE, AlertStatus.DISMISSED),
}
OFFICER_ACTIONS: Final = tuple(TRANSITIONS)

STATUS_ZH: Final[Mapping[AlertStatus, str]] = {
    AlertStatus.OPEN: "待处理",
    AlertStatus.ACKNOWLEDGED: "已确认",
    AlertStatus.ASSIGNED: "已指派",
    AlertStatus.RESOLVED: "已办结",
    AlertStatus.DISMISSED: "已驳回",
}
ACTION_ZH: Final[Mapping[AlertAction, str]] = {
    AlertAction.ACKNOWLEDGE: "确认",
    AlertAction.ASSIGN: "指派",
    AlertAction.RESOLVE: "办结",
    AlertAction.DISMISS: "驳回",
    AlertAction.REOPEN: "重新打开",
    AlertAction.CLOSE: "关闭",
}


class InvalidTransition(RiskwireError):
    """The action is not allowed from the alert's current status (HTTP 409)."""

    def __init__(self, action: AlertAction, status: AlertStatus) -> None:
        super().__init__(f"告警当前状态为“{STATUS_ZH[status]}”，不能{ACTION_ZH[action]}")
        self.action, self.status = action, status


class AlertNotFound(RiskwireError):
    """No such alert, or not one the caller may see (HTTP 404: existence is not leaked)."""


class KeptChanging(RiskwireError):
    """The alert changed under every attempt (HTTP 409: the caller may try again)."""


def transition(
    alert: Alert,
    action: AlertAction,
    *,
    by: Actor,
    now: datetime,
    note: str = "",
    assignee: Actor | None = None,
) -> Alert:
    """``alert`` after an officer's ``action``: the new status, a timeline entry with who,
    when and the note, and the next revision. Raises :class:`InvalidTransition`."""
    allowed = TRANSITIONS.get(action)
    if allowed is None or alert.status not in allowed[0]:
        raise InvalidTransition(action, alert.status)
    if action is AlertAction.ASSIGN and assignee is None:
        raise ValueError("an assignment needs an assignee")
    status = allowed[1]
    entry = TimelineEntry(
        at=now,
        action=action,
        status=status,
        by=by,
        note=note,
        assignee=assignee if action is AlertAction.ASSIGN else None,
    )
    reason = f"{by.name}（{by.department}）{ACTION_ZH[action]}" + (f"：{note}" if note else "")
    update: dict[str, object] = {
        "status": status,
        "status_reason": reason,
        "timeline": with_entry(alert.timeline, entry),
        "updated_at": now,
        "revision": alert.revision + 1,
    }
    if action is AlertAction.ASSIGN:
        update["assignee"] = assignee
    return alert.model_copy(update=update)


def close_for_deregistration(alert: Alert, now: datetime, reason: str | None = None) -> Alert:
    """``alert`` resolved because its enterprise was deregistered (``reason``: the event's
    ``data.reason``). An alert already closed is returned unchanged (a replay writes nothing:
    compare the revision)."""
    if not alert.status.is_open:
        return alert
    note = "企业已注销" + (f"（{reason}）" if reason else "") + "，告警关闭"
    entry = TimelineEntry(at=now, action=AlertAction.CLOSE, status=AlertStatus.RESOLVED, note=note)
    return alert.model_copy(
        update={
            "status": AlertStatus.RESOLVED,
            "status_reason": note,
            "timeline": with_entry(alert.timeline, entry),
            "updated_at": now,
            "revision": alert.revision + 1,
        }
    )


def deregistration_fingerprints(uscc: str, rule_ids: Sequence[str] = RULE_IDS) -> list[str]:
    """The fingerprints of every alert that can be open about enterprise ``uscc``, to read
    with ``AlertStore.open_alerts`` when it is deregistered.

    >>> deregistration_fingerprints("91350100M000100Y43", ["tax_arrears"])
    ['tax_arrears:enterprise:91350100M000100Y43']
    """
    return [fingerprint(rule_id, "enterprise", uscc) for rule_id in rule_ids]


class LifecycleStore(Protocol):
    """What :func:`act` needs of :class:`alerts.store.AlertStore`."""

    async def get(self, alert_id: str) -> Alert | None: ...

    async def upsert(self, upserts: Sequence[Upsert]) -> list[int | None]: ...


async def act(
    store: LifecycleStore,
    alert_id: str,
    action: AlertAction,
    *,
    by: Actor,
    now: Callable[[], datetime],
    visible: Callable[[Alert], bool],
    note: str = "",
    assignee: Actor | None = None,
) -> tuple[Alert, int]:
    """Apply ``action`` to the stored alert and publish it: the alert as written and its
    feed sequence number. Raises :class:`AlertNotFound` (also for an alert ``visible``
    refuses), :class:`InvalidTransition` or :class:`KeptChanging`."""

    async def attempt(_: int) -> tuple[Alert, int] | Again:
        current = await store.get(alert_id)
        if current is None or not visible(current):
            raise AlertNotFound(alert_id)
        changed = bounded(
            transition(current, action, by=by, now=now(), note=note, assignee=assignee)
        )
        [seq] = await store.upsert([Upsert(changed, current.revision, Change.STATUS, 0)])
        return AGAIN if seq is None else (changed, seq)

    return await compare_and_set(
        attempt,
        attempts=MAX_ATTEMPTS,
        exhausted=lambda: KeptChanging(f"告警{alert_id}正被频繁更新，请稍后重试"),
    )
