"""An in-process profile store for unit tests: the same contract as the Redis store."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from processors.profiles.store import EntityRef, Hub, IndexOp, Loaded, Write


class MemoryProfileStore:
    def __init__(self) -> None:
        self.docs_by_ref: dict[EntityRef, tuple[bytes, int, list[IndexOp]]] = {}
        self.seen: dict[EntityRef, set[str]] = {}
        self.indices: dict[str, dict[str, float]] = {}

    async def load(self, asks: Mapping[EntityRef, Collection[str]]) -> dict[EntityRef, Loaded]:
        out = {}
        for ref, eids in asks.items():
            doc, ver, pending = self.docs_by_ref.get(ref, (None, 0, []))
            seen = self.seen.get(ref, set())
            out[ref] = Loaded(doc, ver, {e for e in eids if e in seen}, list(pending))
        return out

    async def commit(self, writes: Sequence[Write]) -> dict[EntityRef, int | None]:
        result: dict[EntityRef, int | None] = {}
        for w in writes:
            _, ver, _ = self.docs_by_ref.get(w.ref, (b"", 0, []))
            if ver != w.expected_version:
                result[w.ref] = None
                continue
            self.docs_by_ref[w.ref] = (w.doc, ver + 1, list(w.index_ops))
            self.seen.setdefault(w.ref, set()).update(w.applied)
            result[w.ref] = ver + 1
        return result

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
