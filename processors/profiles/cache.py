"""A worker's parsed profiles, kept by the stored bytes they were parsed from, so that a
profile read again unchanged is neither unpacked nor parsed again.

Parsing a profile (``model_validate_json``) is the largest single cost of a worker's
event, and a batch reads the same profile several times (to apply its events, to judge
them, to judge its dependents), and again in the next batch. The cache holds, per
profile, the bytes Redis holds (compressed, as :attr:`Loaded.stored` gives them) and the
object parsed from them or committed as them, in least-recently-used order, at most
``max_entries`` (``RISKWIRE_PROFILE_CACHE_MAX``; 0 keeps nothing).

**It can never answer a stale profile.** A lookup is a hit only when the bytes the store
has just returned are byte-identical to the cached ones: the same bytes parse to the same
profile, so no version needs reasoning about, and another worker's write (other bytes)
is a miss that is parsed. The stores still read and return every document; nothing is
decided from the cache alone.

**No cached object is ever mutated while anyone else holds it.** Objects are used two
ways:

- *lent* (:meth:`ProfileCache.lend`, the read stage, index repairs): the caller shares the
  cached object and only reads it. The rules, grading and scoring read profiles and never
  write them.
- *taken* (:meth:`ProfileCache.take`, the apply stage): the caller folds events into the
  object, so it must own it. ``take`` removes the entry from the cache first, so the
  object being mutated is in no cache; after a successful commit the apply stage puts the
  committed object back with the bytes it wrote (:meth:`ProfileCache.put`). A commit that
  conflicts or raises puts nothing back, so no half-folded object is ever cached.

What remains is an object taken while a reader still holds it. Readers hold profiles for
the span of one batch (the ``profiles`` a batch's apply stage hands to its judge are put
in the cache too). :meth:`ProfileCache.batch` brackets a batch; every object lent or put
is stamped with the current *generation*, which moves on only when no batch is in flight.
``take`` hands out an object only if its stamp is older than the current generation, that
is if every batch that could hold it has ended; otherwise it parses a private copy, as if
the cache were empty. A worker's batches run one at a time (one agent, concurrency 1, each
``process`` awaited before the next batch is taken: ``processors/app.py``), and within a
batch the apply stage runs before any read, so in practice the objects committed or read
in batch N are taken by batch N+1; should batches ever overlap, the generation keeps the
guarantee and only the hit rate drops.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from core.telemetry import PROFILE_CACHE_LOOKUPS
from streams.profile import EnterpriseProfile, PersonProfile
from streams.profile_store import EntityRef, Loaded

Profile = EnterpriseProfile | PersonProfile

# A parsed enterprise profile of the bench holds about 14 KB (tracemalloc over 1,000 of
# them; their JSON is 2.5 KB, stored 0.5 KB), a person's about 3 KB: at most ~150 MB.
DEFAULT_MAX_ENTRIES: Final = 10_000


@dataclass(slots=True)
class _Entry:
    stored: bytes
    profile: Profile
    generation: int  # the generation in which it was last lent or put


def parse(ref: EntityRef, doc: bytes) -> Profile:
    """The profile of ``ref`` from its JSON."""
    if ref.kind == "ent":
        return EnterpriseProfile.model_validate_json(doc)
    return PersonProfile.model_validate_json(doc)


class ProfileCache:
    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 0:
            raise ValueError(f"max_entries must be 0 or more, not {max_entries}")
        self.max_entries = max_entries
        self._entries: OrderedDict[EntityRef, _Entry] = OrderedDict()
        self._generation = 0
        self._in_flight = 0

    def __len__(self) -> int:
        return len(self._entries)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Bracket one batch: what it was lent stays lent until no batch is in flight."""
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._generation += 1

    def lend(self, ref: EntityRef, loaded: Loaded, use: str) -> Profile | None:
        """The profile of ``loaded`` to read and never change (``None`` when there is
        none), shared with the cache; ``use`` labels the metric."""
        if loaded.stored is None:
            return None
        entry = self._entries.get(ref)
        if entry is not None and entry.stored == loaded.stored:
            self._entries.move_to_end(ref)
            entry.generation = self._generation
            PROFILE_CACHE_LOOKUPS.labels(use, "hit").inc()
            return entry.profile
        profile = parse(ref, loaded.unpack(loaded.stored))
        if self.max_entries:
            PROFILE_CACHE_LOOKUPS.labels(use, "miss").inc()
            self._keep(ref, _Entry(loaded.stored, profile, self._generation))
        return profile

    def take(self, ref: EntityRef, loaded: Loaded) -> Profile | None:
        """The profile of ``loaded`` for the caller to own and change (``None`` when there
        is none): no longer in the cache, and held by no one else."""
        if loaded.stored is None:
            self._entries.pop(ref, None)
            return None
        entry = self._entries.pop(ref, None)
        if (
            entry is not None
            and entry.stored == loaded.stored
            and entry.generation < self._generation
        ):
            PROFILE_CACHE_LOOKUPS.labels("apply", "hit").inc()
            return entry.profile
        if self.max_entries:
            PROFILE_CACHE_LOOKUPS.labels("apply", "miss").inc()
        return parse(ref, loaded.unpack(loaded.stored))

    def put(self, ref: EntityRef, stored: bytes, profile: Profile) -> None:
        """Keep ``profile``, committed as (or read unchanged from) ``stored``; its owner
        gives it up and only reads it from now on."""
        if self.max_entries:
            self._keep(ref, _Entry(stored, profile, self._generation))

    def _keep(self, ref: EntityRef, entry: _Entry) -> None:
        self._entries[ref] = entry
        self._entries.move_to_end(ref)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
