"""Collision analysis on profiles built by the real pipeline over in-memory stores: a
planted ring found at hop 1 with the right link kinds, hop 2, ranking by link weight,
mega addresses, masked people, limits and batched reads."""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from processors.profiles.memory import MemoryProfileStore
from rules.investigation import Candidate, expand, link_weight, rank, related
from simulate.factory import EventFactory
from streams.codec import Decoder
from streams.identifiers import mask_id_number
from streams.profile_store import EntityRef, Hub

from .pipeline_kit import T0, Feeder, processor

RING_ADDRESS = "广东省深圳市南山区前湾一路1号"
RING_PHONE = "0755-8600 1234"


class World:
    """Enterprises registered through the real batch processor on in-memory stores."""

    def __init__(self, decoder: Decoder, factory: EventFactory) -> None:
        self.f = factory
        self.store = MemoryProfileStore()
        self.serial = itertools.count(1)
        self.feeder = Feeder(processor(decoder, store=self.store))

    async def feed(self, *events: dict[str, Any]) -> None:
        await self.feeder.feed(*events)

    def company(
        self,
        *,
        address: str | None = None,
        phone: str | None = None,
        legal_rep: dict[str, Any] | None = None,
        officers: list[dict[str, Any]] | None = None,
        holders: Sequence[dict[str, Any]] = (),
        owner: str | None = None,
    ) -> dict[str, Any]:
        """A registration with its own address and phone unless given, its legal rep as
        shareholder, plus ``holders`` (people) and ``owner`` (an enterprise uscc)."""
        n = next(self.serial)
        rep = legal_rep or self.f.person()
        ev = self.f.registered(
            legal_rep=rep, officers=officers, address=address or f"福田区测试路{n}号", time=T0
        )
        data = ev["data"]
        data["phone"] = phone or f"1390000{n:04d}"
        for who in holders:
            person = {k: v for k, v in who.items() if k != "role"}
            data["shareholders"].append(
                {"holder_type": "person", "name": who["name"], "stake_pct": 10.0, "person": person}
            )
        if owner is not None:
            data["shareholders"].append(
                {"holder_type": "enterprise", "name": "前海控股", "stake_pct": 30.0, "uscc": owner}
            )
        return ev


@dataclass
class Ring:
    world: World
    seed: str
    by_role: dict[str, str]  # what the enterprise shares with the seed -> uscc
    second: str  # shares a legal rep with by_role["phone"]
    unrelated: str
    id_numbers: list[str]
    rep: dict[str, Any]


@pytest.fixture
async def ring(decoder: Decoder, factory: EventFactory) -> Ring:
    w = World(decoder, factory)
    rep, director, holder, other_rep = (
        factory.person(),
        factory.person("director"),
        factory.person(),
        factory.person(),
    )
    owner = w.company()
    seed = w.company(
        address=RING_ADDRESS,
        phone=RING_PHONE,
        legal_rep=rep,
        officers=[director],
        holders=[holder],
        owner=owner["subject"],
    )
    members = {
        "address": w.company(address="南山区 前湾一路1號"),
        "phone": w.company(phone="+86 755 8600 1234", legal_rep=other_rep),
        "legal_rep": w.company(legal_rep=rep),
        "officer": w.company(officers=[director]),
        "mixed": w.company(officers=[{**rep, "role": "director"}]),
        "holder": w.company(officers=[{**holder, "role": "director"}]),
    }
    second, unrelated = w.company(legal_rep=other_rep), w.company()
    await w.feed(owner, seed, *members.values(), second, unrelated)
    by_role = {k: ev["subject"] for k, ev in members.items()} | {"owner": owner["subject"]}
    ids = [p["id_number"] for p in (rep, director, holder, other_rep)]
    return Ring(w, seed["subject"], by_role, second["subject"], unrelated["subject"], ids, rep)


def kinds(c: Candidate) -> set[tuple[str, str]]:
    return {(link.kind, link.via) for link in c.links}


async def test_a_planted_ring_is_found_at_hop_one_with_its_link_kinds(ring: Ring) -> None:
    found = {c.uscc: c for c in await expand(ring.world.store, [ring.seed])}
    r, s = ring.by_role, ring.seed
    assert {u: kinds(c) for u, c in found.items()} == {
        r["address"]: {("address", s)},
        r["phone"]: {("phone", s)},
        r["legal_rep"]: {("legal_rep", s)},
        r["officer"]: {("officer", s)},
        r["mixed"]: {("officer", s)},  # legal rep of the seed, director here
        r["holder"]: {("shareholder", s)},  # shareholder of the seed, director here
        r["owner"]: {("shareholder", s)},  # an enterprise shareholder of the seed
    }
    assert all(c.hops == 1 and c.name for c in found.values())
    assert found[r["address"]].links[0].value == "南山区前湾一路1号"
    assert found[r["phone"]].links[0].value == "075586001234"
    assert found[r["owner"]].links[0].value == r["owner"]
    assert "本企业是种子企业" in found[r["owner"]].links[0].label_zh
    assert "在种子企业任法定代表人，在本企业任董事" in found[r["mixed"]].links[0].label_zh
    assert ring.unrelated not in found
    assert ring.second not in found


async def test_ranked_by_link_weight_with_ties_broken_by_uscc(ring: Ring) -> None:
    r = ring.by_role
    result = await expand(ring.world.store, [ring.seed])
    assert [c.uscc for c in result] == [
        r["legal_rep"],
        *sorted([r["holder"], r["owner"]]),
        *sorted([r["officer"], r["mixed"]]),
        r["phone"],
        r["address"],
    ]
    assert [c.score for c in result] == [4.0, 3.0, 3.0, 2.0, 2.0, 1.5, 1.0]


async def test_second_hop_only_with_hops_two_and_ranked_below_the_first(ring: Ring) -> None:
    one = await expand(ring.world.store, [ring.seed], hops=1)
    two = await expand(ring.world.store, [ring.seed], hops=2)
    assert ring.second not in {c.uscc for c in one}
    *first, last = two
    assert [c.uscc for c in first] == [c.uscc for c in one]
    assert (last.uscc, last.hops, kinds(last)) == (
        ring.second,
        2,
        {("legal_rep", ring.by_role["phone"])},
    )
    assert "关联企业" in last.links[0].label_zh
    assert last.score == 0.5 * 1.5  # half of the legal rep link, capped by its via's score
    assert ring.unrelated not in {c.uscc for c in two}


async def test_a_neighbour_in_the_sample_makes_its_neighbour_first_hop(ring: Ring) -> None:
    seeds = [ring.seed, ring.by_role["phone"]]
    result = {c.uscc: c for c in await expand(ring.world.store, seeds)}
    assert not set(seeds) & result.keys()
    assert (result[ring.second].hops, kinds(result[ring.second])) == (
        1,
        {("legal_rep", ring.by_role["phone"])},
    )


async def test_every_link_to_the_sample_counts(decoder: Decoder, factory: EventFactory) -> None:
    w = World(decoder, factory)
    rep = factory.person()
    a = w.company(address="罗湖区人民南路2号", legal_rep=rep)
    b = w.company(phone="13912345678")
    x = w.company(address="罗湖区人民南路2号", legal_rep=rep, phone="13912345678")
    await w.feed(a, b, x)
    [c] = await expand(w.store, [a["subject"], b["subject"]])
    assert c.uscc == x["subject"]
    assert kinds(c) == {
        ("legal_rep", a["subject"]),
        ("address", a["subject"]),
        ("phone", b["subject"]),
    }
    assert c.score == pytest.approx(4.0 + 1.0 + 1.5)
    assert c.score == sum(link.weight for link in c.links)


async def test_a_mega_address_weighs_less(decoder: Decoder, factory: EventFactory) -> None:
    w = World(decoder, factory)
    tenants = [w.company(address="南山区海德三道1号") for _ in range(33)]
    by_phone = w.company(phone=tenants[0]["data"]["phone"])
    await w.feed(*tenants, by_phone)
    result = await expand(w.store, [tenants[0]["subject"]])
    assert [c.uscc for c in result][:1] == [by_phone["subject"]]
    assert len(result) == 33
    for c in result[1:]:
        [link] = c.links
        assert link.kind == "address"
        assert link.weight == pytest.approx(1.0 / math.log2(33))
        assert "该地址登记33家企业" in link.label_zh
    assert link_weight("address", 33) < link_weight("phone", 1) < link_weight("legal_rep", 1)
    capped = await expand(w.store, [tenants[0]["subject"]], hub_cap=8)
    assert capped[0].uscc == by_phone["subject"]
    assert 7 <= len(capped[1:]) <= 8  # 8 members read from the address, maybe the seed


async def test_no_raw_id_number_in_any_link(ring: Ring) -> None:
    result = await expand(ring.world.store, [ring.seed], hops=2)
    text = repr(result) + repr(await related(ring.world.store, ring.seed))
    assert not [n for n in ring.id_numbers if n in text]
    [rep_link] = next(c for c in result if c.uscc == ring.by_role["legal_rep"]).links
    masked = mask_id_number(ring.rep["id_number"])
    assert rep_link.label_zh.endswith(f"共用法定代表人{ring.rep['name']}（身份证号{masked}）")


async def test_bounded_by_limit(ring: Ring) -> None:
    full = await expand(ring.world.store, [ring.seed], hops=2)
    assert await expand(ring.world.store, [ring.seed], hops=2, limit=3) == full[:3]
    assert rank(full, 0) == []


class Counting:
    """A MemoryProfileStore that counts its batched reads."""

    def __init__(self, inner: MemoryProfileStore) -> None:
        self.inner, self.calls = inner, {"hubs": 0, "docs": 0}

    async def hubs(self, indices: Collection[str], cap: int = 500) -> dict[str, Hub]:
        self.calls["hubs"] += 1
        return await self.inner.hubs(indices, cap)

    async def docs(self, refs: Collection[EntityRef]) -> dict[EntityRef, bytes]:
        self.calls["docs"] += 1
        return await self.inner.docs(refs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize(
    ("hops", "calls"), [(1, {"hubs": 1, "docs": 2}), (2, {"hubs": 2, "docs": 3})]
)
async def test_one_hubs_and_one_docs_read_per_hop_level(
    ring: Ring, hops: int, calls: dict[str, int]
) -> None:
    store = Counting(ring.world.store)
    assert await expand(store, [ring.seed], hops=hops)
    assert store.calls == calls


async def test_a_deregistered_seed_still_expands(ring: Ring) -> None:
    before = {c.uscc for c in await expand(ring.world.store, [ring.seed])}
    gone = ring.world.f.event(
        "enterprise.deregistered", ring.seed, {"reason": "吊销"}, time=T0 + timedelta(days=1)
    )
    await ring.world.feed(gone)
    assert {c.uscc for c in await expand(ring.world.store, [ring.seed])} == before


async def test_related_names_each_link_kind(ring: Ring) -> None:
    hub = ring.by_role["phone"]
    result = {c.uscc: c for c in await related(ring.world.store, hub)}
    assert {u: kinds(c) for u, c in result.items()} == {
        ring.second: {("legal_rep", hub)},
        ring.seed: {("phone", hub)},
    }
    assert result[ring.seed].links[0].label_zh.startswith(f"与企业{hub}共用联系电话")
    assert await related(ring.world.store, "91440300MA5XXXXX00") == []


async def test_hops_must_be_one_or_two(ring: Ring) -> None:
    with pytest.raises(ValueError, match="hops"):
        await expand(ring.world.store, [ring.seed], hops=3)
