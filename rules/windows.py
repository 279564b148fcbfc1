"""Event-time windows: "within N days" counts business days and includes both ends.

Facts are dated by the business day of their event ``time`` in China Standard Time (the
day a regulator in Shenzhen would write down), so two facts on day 0 and day N are within
N days whatever their hour, and day N+1 is not. A window is any run of N+1 days, not only
the one ending at the newest fact: an event that arrives late still completes its window.

>>> from datetime import UTC, datetime
>>> times = [datetime(2026, 1, d, 9, tzinfo=UTC) for d in (1, 20, 31)]
>>> [t.day for t in densest(times, 30, key=lambda t: t)]
[1, 20, 31]
>>> [t.day for t in densest(times, 29, key=lambda t: t)]
[20, 31]
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Final, TypeVar

from streams.alert import Evidence
from streams.event import Event
from streams.profile import Touch

BUSINESS_TZ: Final = timezone(timedelta(hours=8), "CST")

T = TypeVar("T")


def business_day(t: datetime) -> date:
    """The calendar day of ``t`` in China Standard Time."""
    return t.astimezone(BUSINESS_TZ).date()


def densest(
    items: Sequence[T],
    days: int,
    *,
    key: Callable[[T], datetime],
    around: datetime | None = None,
    weight: Callable[[Sequence[T]], int] = len,
) -> list[T]:
    """The items of the heaviest window of ``days`` days (both ends included), oldest first.

    ``weight`` measures a window (default: how many items it holds); ties go to the latest
    window. With ``around``, only windows that contain that day are considered, so the
    fact an event just added is part of what it reports.
    """
    ordered = sorted(items, key=key)
    day_of = [business_day(key(item)) for item in ordered]
    anchor = business_day(around) if around is not None else None
    best: list[T] = []
    best_weight = 0
    for i, start in enumerate(day_of):
        end = start + timedelta(days=days)
        if anchor is not None and not start <= anchor <= end:
            continue
        window = ordered[i : bisect_right(day_of, end, lo=i)]
        w = weight(window)
        if w >= best_weight:
            best, best_weight = window, w
    return best


def span(items: Sequence[T], key: Callable[[T], datetime]) -> str:
    """``2026-01-01至2026-01-31`` for the first and last item (one day if they are equal)."""
    first, last = business_day(key(items[0])), business_day(key(items[-1]))
    return first.isoformat() if first == last else f"{first.isoformat()}至{last.isoformat()}"


def touch_evidence(touch: Touch, event: Event, etype: str, fact: str) -> Evidence:
    """Evidence of a stored dated fact. Profiles keep the event id of a touch but not its
    ``source``: the source is known only for the event being evaluated (else empty)."""
    return Evidence(
        event_id=touch.event_id,
        source=event.source if touch.event_id == event.id else "",
        type=etype,
        time=touch.time,
        fact=fact,
    )
