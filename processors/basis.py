"""The basis of a batch's verdicts: the version of every profile, and the members of every
hub, they were made from, so that those made from something that moved since are made
again."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from streams.profile import EnterpriseProfile
from streams.profile_store import EntityRef, Hub


@dataclass(slots=True)
class Basis:
    """The version of every profile a batch's verdicts were made from, and which
    enterprises read each person."""

    versions: dict[EntityRef, int] = field(default_factory=dict)
    readers: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # Hubs carry no version: the members each was read with, and who read it.
    hubs: dict[str, Hub] = field(default_factory=dict)
    hub_readers: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def moved(self, now: Mapping[EntityRef, int], hubs: Mapping[str, Hub]) -> set[str]:
        """The enterprises judged from a profile, or a hub, that has moved since it was
        read."""
        out: set[str] = set()
        for ref, version in now.items():
            if version != self.versions[ref]:
                out |= {ref.id} if ref.kind == "ent" else self.readers.get(ref.id, set())
        for index, hub in hubs.items():
            if hub != self.hubs[index]:
                out |= self.hub_readers[index]
        return out

    def read_hubs(
        self, enterprises: Mapping[str, EnterpriseProfile], hubs: Mapping[str, Hub]
    ) -> None:
        """Note the hubs each judged enterprise read (its address, its people's)."""
        for uscc, ent in enterprises.items():
            names = [f"person:{p.key}" for p in ent.people()]
            names += [f"addr:{ent.address_norm}"] if ent.address_norm else []
            for index in names:
                if index in hubs:
                    self.hubs[index] = hubs[index]
                    self.hub_readers[index].add(uscc)
