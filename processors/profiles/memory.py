"""An in-process profile store for unit tests: the same contract as the Redis store."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta

from core.clock import Clock, SystemClock
from processors.profiles import horizon
from streams.profile_store import EntityRef, Hub, IndexOp, Loaded, Stamp, Write

_NONE = 1 << 62  # above any score: an empty record


class MemoryProfileStore:
    def __init__(
        self,
        *,
        clock: Clock | None = None,
        replay_horizon: timedelta = horizon.DEFAULT_HORIZON,
    ) -> None:
        self.docs_by_ref: dict[EntityRef, tuple[bytes, int, list[IndexOp]]] = {}
        # dedup member -> score, and source tag -> mark, as the Redis store keeps them
        self.seen: dict[EntityRef, dict[bytes, int]] = {}
        self.marks: dict[EntityRef, dict[int, int]] = {}
        self.indices: dict[str, dict[str, float]] = {}
        self._lowest: dict[EntityRef, int] = {}  # the lowest score in each dedup record
        self._clock = clock or SystemClock()
        self._horizon = replay_horizon

    async def load(self, asks: Mapping[EntityRef, Collection[Stamp]]) -> dict[EntityRef, Loaded]:
        out = {}
        for ref, stamps in asks.items():
            doc, ver, pending = self.docs_by_ref.get(ref, (None, 0, []))
            seen = self.seen.get(ref, {})
            out[ref] = Loaded(
                doc,
                ver,
                {s.eid for s in stamps if horizon.member(s.eid) in seen},
                list(pending),
                horizon.marks_by_source(self.marks.get(ref, {}), (s.source for s in stamps)),
            )
        return out

    def stored_form(self, doc: bytes) -> bytes:
        return doc  # kept as it is

    async def commit(self, writes: Sequence[Write]) -> dict[EntityRef, int | None]:
        result: dict[EntityRef, int | None] = {}
        for w in writes:
            _, ver, _ = self.docs_by_ref.get(w.ref, (b"", 0, []))
            if ver != w.expected_version:
                result[w.ref] = None
                continue
            self.docs_by_ref[w.ref] = (w.doc, ver + 1, list(w.index_ops))
            self._record(w.ref, w.applied)
            result[w.ref] = ver + 1
        return result

    def _record(self, ref: EntityRef, applied: Sequence[Stamp]) -> None:
        """What commit.lua does to the dedup set and the marks."""
        now = self._clock.now()
        seen = self.seen.setdefault(ref, {})
        for s in applied:
            seen[horizon.member(s.eid)] = horizon.score(now, s.time, horizon.source_tag(s.source))
        cutoff = horizon.cutoff(now, self._horizon)
        marks = self.marks.setdefault(ref, {})
        # Only a record holding a score below the cut-off has anything to forget: the
        # lowest score is kept, so a commit does not scan the whole record for nothing.
        lowest = min(
            [self._lowest.get(ref, _NONE), *(seen[horizon.member(s.eid)] for s in applied)]
        )
        if lowest < cutoff:
            for old in [m for m, score in seen.items() if score < cutoff]:
                tag, minute = horizon.tag_and_minute(seen.pop(old))
                marks[tag] = max(marks.get(tag, -1), minute)
            lowest = min(seen.values(), default=_NONE)
        self._lowest[ref] = lowest

    async def finish_indices(
        self, done: Sequence[tuple[EntityRef, int, Sequence[IndexOp]]]
    ) -> set[EntityRef]:
        moved = set()
        for ref, version, ops in done:
            await self.apply_index_ops(ops)
            doc, ver, _ = self.docs_by_ref[ref]
            if ver == version:
                self.docs_by_ref[ref] = (doc, ver, [])
            else:
                moved.add(ref)
        return moved

    async def apply_index_ops(self, ops: Sequence[IndexOp]) -> None:
        for op in ops:
            members = self.indices.setdefault(op.index, {})
            if op.score is None:
                members.pop(op.member, None)
            else:
                members[op.member] = op.score

    async def hubs(self, indices: Collection[str], cap: int = 500) -> dict[str, Hub]:
        out = {}
        for name in indices:
            members = self.indices.get(name, {})
            ranked = sorted(members.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
            out[name] = Hub(name, len(members), ranked[:cap])
        return out

    async def docs(self, refs: Collection[EntityRef]) -> dict[EntityRef, bytes]:
        return {r: self.docs_by_ref[r][0] for r in refs if r in self.docs_by_ref}

    async def versions(self, refs: Collection[EntityRef]) -> dict[EntityRef, int]:
        return {r: self.docs_by_ref[r][1] if r in self.docs_by_ref else 0 for r in refs}
