"""The contract every profile store keeps, and the value types it trades in.

A store reads profiles with the subset of given event ids they have already applied,
and writes new versions with compare-and-set: the dedup record and the profile update are
one atomic step, so a redelivered or replayed event changes nothing, and two workers that
touch the same profile cannot lose each other's update (the loser re-reads and re-applies).
The dedup record is bounded by the replay horizon (:mod:`processors.profiles.horizon`).

Cross-entity indices (address, person and phone -> enterprises) are sorted sets updated
after the commit. The commit records the pending index operations inside the profile's
own key, so a worker killed between the two steps leaves a note that the next reader of
that profile finishes (a transactional outbox that needs no cross-slot transaction and so
works on a Redis Cluster). Index updates of an older version can land after a newer
version's (a slow worker); the acknowledgement tells, and the writer then repairs the
indices it touched from the newest profile until the version holds still.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

EntityKind = Literal["ent", "per"]


@dataclass(frozen=True, slots=True)
class EntityRef:
    kind: EntityKind
    id: str  # uscc, or a person's keyed hash


@dataclass(frozen=True, slots=True)
class Stamp:
    """An event as a profile's dedup state knows it: who sent it, its identity (see
    :func:`streams.event.event_identity`) and its business time (see
    :mod:`processors.profiles.horizon`)."""

    source: str
    eid: str
    time: datetime


@dataclass(frozen=True, slots=True)
class IndexOp:
    """Add ``member`` to (``score`` set) or remove it from (``score`` None) an index."""

    index: str
    member: str
    score: float | None

    def to_json(self) -> list[object]:
        return [self.index, self.member, self.score]

    @classmethod
    def from_json(cls, raw: Sequence[object]) -> IndexOp:
        index, member, score = raw
        return cls(str(index), str(member), None if score is None else float(str(score)))


def _as_is(stored: bytes) -> bytes:
    return stored


@dataclass(slots=True)
class Loaded:
    """A profile as read: its document exactly as the store holds it (``None`` when new),
    version, the asked event ids it has already applied, index operations a crashed writer
    left unfinished, and the horizon mark (business second) of each asked source that has
    one. ``doc`` is its JSON, unpacked from ``stored`` by ``unpack`` when asked for: equal
    stored bytes are the same document, so a reader that parsed them before need not
    unpack them again (:mod:`processors.profiles.cache`)."""

    stored: bytes | None
    version: int
    seen: set[str] = field(default_factory=set)
    pending: list[IndexOp] = field(default_factory=list)
    marks: dict[str, int] = field(default_factory=dict)
    unpack: Callable[[bytes], bytes] = _as_is

    @property
    def doc(self) -> bytes | None:
        return self.unpack(self.stored) if self.stored else None


@dataclass(frozen=True, slots=True)
class Write:
    ref: EntityRef
    expected_version: int
    doc: bytes
    applied: Sequence[Stamp]  # events applied in this write
    index_ops: Sequence[IndexOp]  # pending ones first, then this write's
    # ``doc`` as the store keeps it (ProfileStore.stored_form), when the writer made it
    # already; the store makes it otherwise.
    stored: bytes | None = None


@dataclass(frozen=True, slots=True)
class Hub:
    """Members of one index, newest (highest score) first, capped; ``size`` is exact."""

    index: str
    size: int
    members: list[tuple[str, float]]


class ProfileStore(Protocol):
    async def load(self, asks: Mapping[EntityRef, Collection[Stamp]]) -> dict[EntityRef, Loaded]:
        """Read profiles, which of the given events each has applied, and the horizon
        marks of their sources."""
        ...

    async def commit(self, writes: Sequence[Write]) -> dict[EntityRef, int | None]:
        """Write each profile if its version is unchanged: the new version, or ``None``
        when another writer got there first (re-read and re-apply). The same step records
        the applied events and forgets those applied more than the horizon ago, folding
        them into their sources' marks."""
        ...

    async def finish_indices(
        self, done: Sequence[tuple[EntityRef, int, Sequence[IndexOp]]]
    ) -> set[EntityRef]:
        """Apply committed index operations, then clear each profile's pending note if the
        profile is still at that version. Answers the profiles that had moved on: their
        operations may have landed after a newer version's, and must be repaired."""
        ...

    async def apply_index_ops(self, ops: Sequence[IndexOp]) -> None:
        """Apply index operations as they are (a repair; no pending note is touched)."""
        ...

    async def hubs(self, indices: Collection[str], cap: int = 500) -> dict[str, Hub]:
        """Read the members of the given indices."""
        ...

    async def docs(self, refs: Collection[EntityRef]) -> dict[EntityRef, bytes]:
        """Read the current JSON of the given profiles (missing ones are left out)."""
        ...

    async def versions(self, refs: Collection[EntityRef]) -> dict[EntityRef, int]:
        """Read the current version of the given profiles (0 for a missing one)."""
        ...

    def stored_form(self, doc: bytes) -> bytes:
        """The bytes ``doc`` is kept as: what :attr:`Loaded.stored` answers once it is
        committed."""
        ...
