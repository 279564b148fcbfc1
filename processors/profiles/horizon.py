"""The replay horizon: how a profile's dedup state stays bounded and still never applies an
event twice.

Each profile keeps the identities it applied in a sorted set. A member is the 16 bytes of
an event's identity (:func:`streams.event.event_identity`); its score packs three numbers
into one exact double (below 2**53):

    score = arrival_hour * 2**33 + business_minute * 2**7 + source_tag

``arrival_hour`` is when a worker applied the event, by the injected clock, in hours since
the epoch (room until 2089); ``business_minute`` is the event's ``time`` in minutes since
the epoch (clamped to 0 .. 2**26 - 1, until 2097); ``source_tag`` is 1..127, a hash of the
event's ``source`` (0 marks an identity migrated from a store that did not record it).

Every commit trims, in the same Lua step, the identities that arrived more than the horizon
ago (in whole hours: an identity stays at least the horizon) and folds their business
minutes into the profile's *mark* of their source tag (a hash field ``h<tag>`` beside the
document): the latest business minute of any identity of that source the profile forgot
(tag 0's mark, ``h0``, stands for every source).

So every identity a profile applied is either still in its set or not later than the mark
of its source. An event in its profile's set is a duplicate. One that is not, and whose
business minute is not later than its source's mark, may have been applied and forgotten:
it is refused (dead letter ``beyond_horizon``), never applied. Any other is new. Inside
the horizon this is an exact dedup set; beyond it the only cost is that a *new* event whose
business time is not later than one its source sent the same profile more than the horizon
ago is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

DEFAULT_HORIZON = timedelta(days=35)
HOUR_SPAN = 2**33  # an arrival hour's unit in a score
MINUTE_SPAN = 2**7  # a business minute's unit
MAX_MINUTE = 2**26 - 1
TAGS = 127  # source tags 1..127; 0 is "any source"
ANY_SOURCE = 0
MARK_PREFIX = "h"  # profile hash field of a source tag's mark
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def source_tag(source: str) -> int:
    """1..127, naming ``source`` in a profile's state. Two sources that share a tag share a
    mark: more events refused beyond the horizon, never one applied twice.

    >>> 1 <= source_tag("samr") <= 127, source_tag("samr") == source_tag("samr")
    (True, True)
    """
    digest = hashlib.blake2b(source.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % TAGS + 1


def member(eid: str) -> bytes:
    """The dedup member of an event: its identity's 16 bytes.

    >>> len(member("00" * 16))
    16
    """
    return bytes.fromhex(eid)


def mark_field(tag: int) -> str:
    return f"{MARK_PREFIX}{tag}"


def business_minute(when: datetime) -> int:
    """``when`` in whole minutes since the epoch, within what a score holds.

    >>> business_minute(datetime(1970, 1, 1, 0, 1, 59, tzinfo=UTC))
    1
    """
    return min(max((when - _EPOCH) // timedelta(minutes=1), 0), MAX_MINUTE)


def arrival_hour(now: datetime) -> int:
    return (now - _EPOCH) // timedelta(hours=1)


def score(arrived: datetime, when: datetime, tag: int) -> int:
    """The score of an identity applied at ``arrived`` (clock) for an event of business
    time ``when`` from the source of ``tag``.

    >>> t = datetime(1970, 1, 1, 2, tzinfo=UTC)
    >>> score(t, t, 5) == 2 * HOUR_SPAN + 120 * MINUTE_SPAN + 5
    True
    """
    return arrival_hour(arrived) * HOUR_SPAN + business_minute(when) * MINUTE_SPAN + tag


def tag_and_minute(score: int) -> tuple[int, int]:
    """The source tag and business minute of a score (what commit.lua reads back).

    >>> tag_and_minute(score(datetime(2026, 1, 1, tzinfo=UTC), _EPOCH, 9))
    (9, 0)
    """
    low = score % HOUR_SPAN
    return low % MINUTE_SPAN, low // MINUTE_SPAN


def cutoff(now: datetime, horizon: timedelta) -> int:
    """Scores below this arrived more than ``horizon`` before ``now``: they are trimmed.

    An identity of arrival hour ``a`` goes when ``a < floor((now - horizon) / 1 h)``, so
    ``(a + 1) h <= now - horizon``: it was applied more than the horizon ago.
    """
    return arrival_hour(now - horizon) * HOUR_SPAN


def mark_of(marks: Mapping[int, int], source: str) -> int | None:
    """The mark that bounds ``source``'s forgotten events: its tag's, or any source's."""
    found = [m for m in (marks.get(source_tag(source)), marks.get(ANY_SOURCE)) if m is not None]
    return max(found) if found else None


def marks_by_source(marks: Mapping[int, int], sources: Iterable[str]) -> dict[str, int]:
    """The mark of each of ``sources`` that has one, from the marks by tag."""
    out = {source: mark_of(marks, source) for source in sources}
    return {source: mark for source, mark in out.items() if mark is not None}


def beyond(mark: int | None, when: datetime) -> bool:
    """Whether an event of business time ``when``, not in the dedup set, may have been
    applied and forgotten: its minute is not later than its source's mark.

    >>> t = datetime(2024, 1, 1, tzinfo=UTC)
    >>> beyond(None, t), beyond(business_minute(t), t), beyond(business_minute(t) - 1, t)
    (False, True, False)
    """
    return mark is not None and business_minute(when) <= mark
