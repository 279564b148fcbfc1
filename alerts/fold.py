"""A batch's verdicts folded into the open alert of each fingerprint, and written.

Verdicts are grouped by fingerprint; the open alerts are read in one call, each
fingerprint is taken through its verdicts in batch order (:func:`fold_alerts`: new,
merge/reopen, resolve, and a new alert after a resolution), and the writes go out as one
upsert whose compare-and-set is on each alert's revision. A lost compare-and-set re-reads
and refolds that fingerprint. An enterprise's alert carries the grade and score it has
after the batch (:func:`with_grade`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from alerts.dedup import Change, merge, new_alert, resolve, verdict_fingerprint
from alerts.store import Upsert, stored_of
from core.cas import AGAIN, Again, compare_and_set
from core.clock import Clock
from core.errors import StoreError
from core.telemetry import ALERTS_FIRED
from rules.base import Clear, Verdict
from rules.grading import Grade
from streams.alert import Alert
from streams.event import Event

# A verdict, the event it was made for, and when that event's message was received (ms).
Judged = tuple[Verdict, Event, int]


class AlertWriter(Protocol):
    async def open_alerts(self, fingerprints: Sequence[str]) -> dict[str, Alert]: ...

    async def upsert(self, upserts: Sequence[Upsert]) -> list[int | None]: ...


class AlertFold:
    """Writes a batch's verdicts through ``alerts``, stamped with ``clock``."""

    def __init__(self, alerts: AlertWriter, clock: Clock) -> None:
        self._alerts = alerts
        self._clock = clock

    async def write(
        self,
        verdicts: Sequence[Judged],
        grades: Mapping[str, Grade],
        created: dict[str, Judged] | None = None,
    ) -> list[Alert]:
        """Fold the batch's verdicts, in order, into the open alert of each fingerprint;
        an enterprise's alert carries the grade and score it has after this batch.
        ``created`` receives, for each enterprise alert this write opened, the verdict
        that opened it, and loses each one this write resolved."""
        if not verdicts:
            return []
        by_fp: dict[str, list[Judged]] = defaultdict(list)
        for item in verdicts:
            by_fp[verdict_fingerprint(item[0])].append(item)
        written: list[Alert] = []
        todo = list(by_fp)

        async def attempt(_n: int) -> list[Alert] | Again:
            nonlocal todo
            current = await self._alerts.open_alerts(todo)
            now = self._clock.now()
            upserts = [
                u
                for fp in todo
                for u in fold_alerts(
                    current.get(fp), by_fp[fp], now, grades, stored_of(current, current.get(fp))
                )
            ]
            results = await self._alerts.upsert(upserts)
            retry = {
                u.alert.fingerprint for u, seq in zip(upserts, results, strict=True) if seq is None
            }
            for u, seq in zip(upserts, results, strict=True):
                if seq is not None and u.alert.fingerprint not in retry:
                    written.append(u.alert)
                    if created is not None:
                        note_created(created, u, by_fp[u.alert.fingerprint])
                    ALERTS_FIRED.labels(
                        u.alert.rule_id, u.alert.severity.value, u.change.value
                    ).inc()
            if not retry:
                return written
            todo = list(retry)
            return AGAIN

        return await compare_and_set(
            attempt,
            exhausted=lambda: StoreError(f"{len(todo)} alerts kept changing under this worker"),
        )


def fold_alerts(
    open_alert: Alert | None,
    items: Sequence[Judged],
    now: datetime,
    grades: Mapping[str, Grade],
    stored: bytes | None = None,
) -> list[Upsert]:
    """The writes that take one fingerprint's open alert through this batch's verdicts:
    updates of the open alert, its resolution, and a new alert after a resolution.
    ``stored``: the document the open alert was read from, if known."""
    upserts: list[Upsert] = []
    alert, expected, change = open_alert, (open_alert.revision if open_alert else 0), Change.CREATED
    if open_alert is not None:
        change = Change.NEW_EVIDENCE
    received = min(ts for _, _, ts in items)
    for verdict, event, _ in items:
        if isinstance(verdict, Clear):
            if alert is None:
                continue
            closed = resolve(alert, verdict.reason, now=now)
            upserts.append(Upsert(closed, expected, Change.STATUS, received, stored))
            alert, expected, change, stored = None, 0, Change.CREATED, None
        elif alert is None:
            alert = new_alert(verdict, event_time=event.time, now=now)
        else:
            alert = merge(alert, verdict, event_time=event.time, now=now) or alert
    if alert is not None and alert.revision != expected:
        upserts.append(Upsert(with_grade(alert, grades), expected, change, received, stored))
    return upserts


WITHDRAWN_ZH = "据以告警的事实在评估期间已变化，依据最新事实重新评估后不再成立"


def withdrawals(created: Mapping[str, Judged], verdicts: Sequence[Judged]) -> list[Judged]:
    """A clear for each enterprise alert an earlier attempt of this batch opened from facts
    that have moved since, about which the judgement from the newest facts says nothing:
    a rule that clears only on some events (a listing ended, the people changed) is silent
    when run again for another (a registration), and the alert would stay open although
    no order of the same events opens it."""
    said = {verdict_fingerprint(v) for v, _, _ in verdicts}
    return [
        (Clear(hit.rule_id, hit.subject_kind, hit.subject_id, WITHDRAWN_ZH), event, received)
        for fp, (hit, event, received) in created.items()
        if fp not in said
    ]


def note_created(created: dict[str, Judged], upsert: Upsert, items: Sequence[Judged]) -> None:
    """Keep the verdict behind an enterprise alert this batch opened; forget a resolved one."""
    fp = upsert.alert.fingerprint
    if not upsert.alert.status.is_open:
        created.pop(fp, None)
    elif upsert.expected_revision == 0 and upsert.alert.subject.kind == "enterprise":
        created[fp] = next(item for item in items if not isinstance(item[0], Clear))


def with_grade(alert: Alert, grades: Mapping[str, Grade]) -> Alert:
    grade = grades.get(alert.subject.id) if alert.subject.kind == "enterprise" else None
    if grade is None:
        return alert
    return alert.model_copy(update={"grade": grade.grade, "score": grade.score})
