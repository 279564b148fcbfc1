"""The worker's cache of parsed profiles: a hit only on byte-identical stored bytes (so
another worker's write is parsed, never served stale), bounded least-recently-used, off at
0; the apply stage owns what it folds into, gives it back only once committed, and never
gets an object a reader of a batch still in flight holds."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from prometheus_client import REGISTRY

from core.errors import StoreError
from processors.apply import apply
from processors.batch import Received
from processors.profiles import cache as cache_module
from processors.profiles.cache import ProfileCache
from processors.profiles.memory import MemoryProfileStore
from simulate.factory import EventFactory
from streams.codec import Decoder
from streams.profile import EnterpriseProfile
from streams.profile_store import EntityRef, Loaded, Write

from .pipeline_kit import T0, Feeder, processor

ENT = EntityRef("ent", "91440300MA5G0EXA7X")


def _doc(name: str) -> bytes:
    return EnterpriseProfile(uscc=ENT.id, name=name).model_dump_json(exclude_none=True).encode()


class Unpacks:
    """A store's ``unpack`` that counts its calls: a hit never unpacks (nor parses)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, stored: bytes) -> bytes:
        self.calls += 1
        return stored


def _loaded(doc: bytes | None, unpack: Unpacks) -> Loaded:
    return Loaded(doc, 1, unpack=unpack)


def _lookups(use: str, result: str) -> float:
    value = REGISTRY.get_sample_value(
        "riskwire_profile_cache_lookups_total", {"use": use, "result": result}
    )
    return value or 0.0


def test_the_same_stored_bytes_are_a_hit_that_neither_unpacks_nor_parses() -> None:
    cache, unpack = ProfileCache(10), Unpacks()
    hits = _lookups("judge", "hit")
    first = cache.lend(ENT, _loaded(_doc("甲"), unpack), "judge")
    again = cache.lend(ENT, _loaded(_doc("甲"), unpack), "judge")
    assert again is first
    assert unpack.calls == 1
    assert _lookups("judge", "hit") == hits + 1


def test_other_bytes_another_workers_write_are_parsed_never_served_stale() -> None:
    cache, unpack = ProfileCache(10), Unpacks()
    old = cache.lend(ENT, _loaded(_doc("旧"), unpack), "judge")
    new = cache.lend(ENT, _loaded(_doc("新"), unpack), "judge")
    assert isinstance(new, EnterpriseProfile)
    assert new.name == "新"
    assert new is not old
    assert unpack.calls == 2
    owned = cache.take(ENT, _loaded(_doc("更新"), unpack))
    assert isinstance(owned, EnterpriseProfile)
    assert owned.name == "更新"


def test_a_missing_profile_is_none_and_forgets_what_was_cached() -> None:
    cache, unpack = ProfileCache(10), Unpacks()
    cache.put(ENT, _doc("甲"), EnterpriseProfile(uscc=ENT.id, name="甲"))
    assert cache.lend(ENT, _loaded(None, unpack), "judge") is None
    assert cache.take(ENT, _loaded(None, unpack)) is None
    assert len(cache) == 0


def test_the_least_recently_used_profile_goes_first_beyond_the_bound() -> None:
    cache, unpack = ProfileCache(2), Unpacks()
    refs = [EntityRef("ent", f"u{i}") for i in range(3)]
    docs = [EnterpriseProfile(uscc=r.id).model_dump_json().encode() for r in refs]
    cache.lend(refs[0], _loaded(docs[0], unpack), "judge")
    cache.lend(refs[1], _loaded(docs[1], unpack), "judge")
    cache.lend(refs[0], _loaded(docs[0], unpack), "judge")  # refs[1] is now the oldest
    cache.lend(refs[2], _loaded(docs[2], unpack), "judge")
    assert len(cache) == 2
    assert unpack.calls == 3
    cache.lend(refs[0], _loaded(docs[0], unpack), "judge")
    assert unpack.calls == 3  # kept
    cache.lend(refs[1], _loaded(docs[1], unpack), "judge")
    assert unpack.calls == 4  # evicted, parsed again


def test_zero_keeps_nothing() -> None:
    cache, unpack = ProfileCache(0), Unpacks()
    first = cache.lend(ENT, _loaded(_doc("甲"), unpack), "judge")
    assert isinstance(first, EnterpriseProfile)
    cache.put(ENT, _doc("甲"), first)
    assert cache.lend(ENT, _loaded(_doc("甲"), unpack), "judge") is not first
    assert cache.take(ENT, _loaded(_doc("甲"), unpack)) is not first
    assert len(cache) == 0
    assert unpack.calls == 3
    with pytest.raises(ValueError, match="0 or more"):
        ProfileCache(-1)


def test_a_taken_profile_is_the_takers_alone_until_it_is_put_back() -> None:
    cache, unpack = ProfileCache(10), Unpacks()
    with cache.batch():
        committed = EnterpriseProfile(uscc=ENT.id, name="甲")
        cache.put(ENT, _doc("甲"), committed)
    with cache.batch():  # the next batch takes it: out of the cache while it is folded
        taken = cache.take(ENT, _loaded(_doc("甲"), unpack))
        assert taken is committed
        assert unpack.calls == 0
        assert len(cache) == 0
        assert cache.lend(ENT, _loaded(_doc("甲"), unpack), "judge") is not taken


def test_the_apply_stage_never_gets_an_object_a_reader_still_holds() -> None:
    cache, unpack = ProfileCache(10), Unpacks()
    with cache.batch():
        read = cache.lend(ENT, _loaded(_doc("甲"), unpack), "judge")
        assert isinstance(read, EnterpriseProfile)
        with cache.batch():  # a second batch in flight while the reader's has not ended
            taken = cache.take(ENT, _loaded(_doc("甲"), unpack))
            assert isinstance(taken, EnterpriseProfile)
            assert taken is not read
            taken.name = "乙"  # the apply stage folds into its own copy
        # the reader's batch is still in flight, so its object is still lent
        cache.put(ENT, _doc("甲"), read)
        again = cache.take(ENT, _loaded(_doc("甲"), unpack))
        assert again is not read
    assert read.name == "甲"
    with cache.batch():
        cache.put(ENT, _doc("甲"), read)
    with cache.batch():  # every batch that could hold it has ended: now it may be taken
        assert cache.take(ENT, _loaded(_doc("甲"), unpack)) is read


# -- the apply stage on a store -----------------------------------------------------------


def _received(decoder: Decoder, events: Sequence[dict[str, object]]) -> list[Received]:
    feeder = Feeder(processor(decoder))
    out: list[Received] = []
    for raw in events:
        message = feeder.message(raw)
        out.append((message, decoder.decode(message.value)))
    return out


class FailingCommits(MemoryProfileStore):
    """Its commits lose to another writer (``None``) or raise, as told, once each."""

    def __init__(self) -> None:
        super().__init__()
        self.plan: list[str] = []

    async def commit(self, writes: Sequence[Write]) -> dict[EntityRef, int | None]:
        step = self.plan.pop(0) if self.plan else "commit"
        if step == "raise":
            raise StoreError("Redis went away mid-commit")
        if step == "conflict":
            # another worker's write lands first: the version and the bytes move
            for w in writes:
                doc, ver, ops = self.docs_by_ref[w.ref]
                other = EnterpriseProfile.model_validate_json(doc)
                other.name = "另一个工作进程"
                self.docs_by_ref[w.ref] = (other.model_dump_json().encode(), ver + 1, ops)
            return {w.ref: None for w in writes}
        return await super().commit(writes)


async def test_a_conflicting_or_failed_commit_leaves_no_folded_object_cached(
    decoder: Decoder, factory: EventFactory
) -> None:
    uscc = factory.uscc()
    ref = EntityRef("ent", uscc)
    store, cache = FailingCommits(), ProfileCache(10)
    with cache.batch():
        await apply(store, _received(decoder, [factory.registered(uscc, time=T0)]), cache)
    committed = store.docs_by_ref[ref][0]

    store.plan = ["raise"]
    arrears = _received(decoder, [factory.tax_arrears(uscc, 500_000.0, time=T0)])
    with cache.batch(), pytest.raises(StoreError):
        await apply(store, arrears, cache)
    assert len(cache) == 0  # the object folded for the failed commit is nobody's now
    unchanged = cache.lend(ref, (await store.load({ref: ()}))[ref], "judge")
    assert unchanged == EnterpriseProfile.model_validate_json(committed)

    store.plan = ["conflict"]
    with cache.batch():
        profiles, *_ = await apply(store, arrears, cache)
    doc, _version, _ = store.docs_by_ref[ref]
    final = profiles[ref]
    assert isinstance(final, EnterpriseProfile)
    assert final.name == "另一个工作进程"
    assert final.tax.arrears_outstanding == 500_000.0
    assert final.model_dump_json(exclude_none=True).encode() == doc
    with cache.batch():
        assert cache.take(ref, (await store.load({ref: ()}))[ref]) is final  # what was committed


async def test_two_workers_caches_never_hide_each_others_writes(
    decoder: Decoder, factory: EventFactory
) -> None:
    uscc = factory.uscc()
    ref = EntityRef("ent", uscc)
    store = MemoryProfileStore()
    one, two = ProfileCache(10), ProfileCache(10)
    hits = _lookups("apply", "hit")
    for cache, event in (
        (one, factory.registered(uscc, time=T0)),
        (one, factory.tax_arrears(uscc, 100_000.0, time=T0)),  # a hit: worker one wrote it
        (two, factory.tax_arrears(uscc, 200_000.0, time=T0)),  # parsed: two has nothing
        (one, factory.tax_arrears(uscc, 300_000.0, time=T0)),  # a miss: two wrote last
    ):
        with cache.batch():
            await apply(store, _received(decoder, [event]), cache)
    assert _lookups("apply", "hit") == hits + 1
    loaded = (await store.load({ref: ()}))[ref]
    assert loaded.version == 4
    final = ProfileCache(0).lend(ref, loaded, "judge")
    assert isinstance(final, EnterpriseProfile)
    assert final.tax.arrears_outstanding == 300_000.0


def test_the_cache_parses_through_one_function() -> None:
    doc = _doc("甲")
    assert cache_module.parse(ENT, doc) == EnterpriseProfile.model_validate_json(doc)
