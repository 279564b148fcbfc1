"""The decoded, trusted form of an input event, as every processor and rule sees it."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from streams.schemas.common import Family

SubjectKind = Literal["enterprise", "person"]


@dataclass(frozen=True, slots=True)
class Subject:
    kind: SubjectKind
    id: str  # uscc, or a person's keyed hash: never a raw id_number


@dataclass(frozen=True, slots=True)
class Event:
    """A validated event. ``data`` holds keyed people only: no raw id_number survives
    decoding, so an ``Event`` can be logged, stored and evaluated freely."""

    id: str
    source: str
    type: str
    time: datetime
    subject: Subject
    data: BaseModel
    family: Family

    @property
    def eid(self) -> str:
        """The dedup identity of (``source``, ``id``): 128 bits, hex."""
        return event_identity(self.source, self.id)


# A batch asks each event's identity several times (dedup, stamps, the horizon), and the
# backtest twice per version: the last few thousand are remembered.
@functools.lru_cache(maxsize=1 << 13)
def event_identity(source: str, event_id: str) -> str:
    """Dedup key of the pair (``source``, ``id``) that identifies an event.

    >>> event_identity("samr", "1") == event_identity("samr", "1")
    True
    >>> event_identity("samr", "1") == event_identity("tax", "1")
    False
    """
    digest = hashlib.blake2b(f"{source}\x00{event_id}".encode(), digest_size=16)
    return digest.hexdigest()
