"""The alerts of an enterprise deregistered in a batch, closed.

Every open alert of a rule whose subject is that enterprise is resolved with a ``close``
timeline entry naming the deregistration's reason (:func:`alerts.lifecycle.
close_for_deregistration`); a replayed deregistration closes them too, since a crash may
have come between the profile's write and the alerts'.
"""

from __future__ import annotations

from collections.abc import Sequence

from alerts.dedup import Change
from alerts.fold import AlertWriter
from alerts.lifecycle import close_for_deregistration, deregistration_fingerprints
from alerts.store import Upsert, stored_of
from core.cas import AGAIN, Again, compare_and_set
from core.clock import Clock
from core.errors import StoreError
from streams.alert import Alert
from streams.event import Event

DEREGISTERED = "enterprise.deregistered"


async def close_deregistered(
    alerts: AlertWriter, clock: Clock, events: Sequence[tuple[Event, int]]
) -> list[Alert]:
    """Close every open alert about an enterprise deregistered among ``events`` (each with
    the time its message was received, ms)."""
    gone = {ev.subject.id: (ev, received) for ev, received in events if ev.type == DEREGISTERED}
    if not gone:
        return []
    owner = {fp: uscc for uscc in gone for fp in deregistration_fingerprints(uscc)}
    closed: list[Alert] = []

    async def attempt(_n: int) -> list[Alert] | Again:
        nonlocal owner, closed
        current = await alerts.open_alerts(list(owner))
        now = clock.now()
        upserts = []
        for fp, alert in current.items():
            event, received = gone[owner[fp]]
            done = close_for_deregistration(alert, now, getattr(event.data, "reason", None))
            stored = stored_of(current, alert)
            upserts.append(Upsert(done, alert.revision, Change.STATUS, received, stored))
        results = zip(upserts, await alerts.upsert(upserts), strict=True)
        lost = {u.alert.fingerprint for u, seq in results if seq is None}
        closed += [u.alert for u in upserts if u.alert.fingerprint not in lost]
        owner = {fp: uscc for fp, uscc in owner.items() if fp in lost}
        return closed if not owner else AGAIN

    return await compare_and_set(
        attempt,
        exhausted=lambda: StoreError(
            f"{len(owner)} alerts of deregistered enterprises kept changing"
        ),
    )
