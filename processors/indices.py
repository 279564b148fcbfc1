"""The index operations of a batch's commits, finished; and repaired where a newer write
of the same profile landed its operations before ours."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from core.cas import AGAIN, Again, compare_and_set
from core.errors import StoreError
from core.telemetry import INDEX_REPAIRS
from processors.profiles.cache import ProfileCache
from streams.profile import EnterpriseProfile
from streams.profile_reducers import index_entries
from streams.profile_store import EntityRef, IndexOp, ProfileStore


async def finish_indices(
    store: ProfileStore,
    cache: ProfileCache,
    finish: Sequence[tuple[EntityRef, int, Sequence[IndexOp]]],
    versions: dict[EntityRef, int],
) -> dict[str, set[str]]:
    """Apply the index operations of the writes (and of notes left behind), repair what
    a newer write moved; the indices each enterprise's write changed."""
    moved = await store.finish_indices(finish)
    # Only enterprise writes carry index operations; a moved profile without any needs
    # no repair (and a person's profile has no indices at all).
    touched: dict[EntityRef, set[str]] = defaultdict(set)
    for ref, _, ops in finish:
        if ref in moved and ops:
            touched[ref].update(op.index for op in ops)
    if touched:
        await repair_indices(store, cache, dict(touched))
    indexed: dict[str, set[str]] = defaultdict(set)
    for ref, version, ops in finish:
        indexed[ref.id].update(op.index for op in ops)
        versions[ref] = version
    return indexed


async def repair_indices(
    store: ProfileStore, cache: ProfileCache, touched: dict[EntityRef, set[str]]
) -> None:
    """Our index operations may have landed after a newer version's: set each index we
    touched to what the newest profile wants, until that profile's version holds still
    (a writer that moves it meanwhile repairs after us in the same way)."""

    async def attempt(_n: int) -> Again | None:
        nonlocal touched
        current = await store.load(dict.fromkeys(touched, ()))
        ops: list[IndexOp] = []
        for ref, indices in touched.items():
            newest = cache.lend(ref, current[ref], "repair")
            wanted = index_entries(newest) if isinstance(newest, EnterpriseProfile) else {}
            ops += [IndexOp(ix, ref.id, wanted.get(ix)) for ix in sorted(indices)]
        await store.apply_index_ops(ops)
        INDEX_REPAIRS.inc(len(touched))
        after = await store.load(dict.fromkeys(touched, ()))
        touched = {r: ix for r, ix in touched.items() if after[r].version != current[r].version}
        return None if not touched else AGAIN

    await compare_and_set(
        attempt,
        exhausted=lambda: StoreError(
            f"{len(touched)} profiles kept moving while their indices were repaired"
        ),
    )
