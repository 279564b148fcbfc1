"""The simulated period and its business clock.

Times inside the simulator are integer *stamps*: ``day.toordinal() * 86400 + seconds``
of China Standard Time, cheap to sort and to compare. They become RFC 3339 strings with a
``+08:00`` offset only when an event is written, so a stamp's calendar day is the business
day every window of ``alerts.md`` counts in.

>>> stamp = stamp_of(START, hour(10))
>>> to_datetime(stamp).isoformat()
'2023-01-01T10:00:00+08:00'
>>> month_index(day_of(stamp)), month_index(date(2025, 12, 31))
(0, 35)
>>> from_datetime(to_datetime(stamp)) == stamp
True
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Final

TZ: Final = timezone(timedelta(hours=8))
START: Final = date(2023, 1, 1)
MONTHS: Final = 36
END: Final = date(2025, 12, 31)
DAY: Final = 86_400
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_UTC_OFFSET_S: Final = 8 * 3600


def hour(h: int, minute: int = 0) -> int:
    """Seconds after midnight."""
    return h * 3600 + minute * 60


def stamp_of(day: date, seconds: int) -> int:
    return day.toordinal() * DAY + seconds


def day_of(stamp: int) -> date:
    return date.fromordinal(stamp // DAY)


def to_datetime(stamp: int) -> datetime:
    epoch = (stamp // DAY - _EPOCH_ORDINAL) * DAY + stamp % DAY - _UTC_OFFSET_S
    return datetime.fromtimestamp(epoch, TZ)


def from_datetime(when: datetime) -> int:
    """The stamp of an aware datetime (inverse of :func:`to_datetime`)."""
    local = when.astimezone(TZ)
    return stamp_of(local.date(), local.hour * 3600 + local.minute * 60 + local.second)


def month_index(day: date) -> int:
    """Months since :data:`START` (negative before it)."""
    return (day.year - START.year) * 12 + day.month - START.month


def month_start(index: int) -> date:
    year, month = divmod(START.month - 1 + index, 12)
    return date(START.year + year, month + 1, 1)


def month_days(index: int) -> int:
    return (month_start(index + 1) - month_start(index)).days


def period(index: int) -> str:
    """The ``YYYY-MM`` of a month index."""
    return month_start(index).strftime("%Y-%m")


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)
