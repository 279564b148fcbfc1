"""Collision analysis: from a sample of known bad enterprises, the other enterprises that
share a registered address, a phone or a person with them, ranked by how tightly they are
tied (the Qianhai-Shekou platform found 33 more shell companies this way).

Candidates are found through the profile store's indices (``addr:``, ``phone:``,
``person:``, whose members are live enterprises) and through enterprise shareholders; the
links are then read off the two profiles, so a shared shareholder counts too once a pair
is found. A person link has the weaker of the person's two roles: legal representative of
one and director of the other is a shared ``officer``. Reads are batched: one ``hubs`` and
one ``docs`` call per hop level. Scoring (:func:`link_weight`, :func:`ties`,
:func:`collide`, :func:`rank`) is pure.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from rules.dishonest_officer import role_zh
from streams.profile import EnterpriseProfile, PersonRef
from streams.profile_store import EntityRef, ProfileStore

LinkKind = Literal["address", "phone", "legal_rep", "officer", "shareholder"]
_PERSON_KINDS: tuple[LinkKind, ...] = ("shareholder", "officer", "legal_rep")  # weak to strong
HUB_CAP = 500  # members read from one index
FRONTIER_CAP = 200  # first-hop candidates expanded further when hops=2


@dataclass(frozen=True, slots=True)
class LinkWeights:
    address: float = 1.0  # divided by log2 of the number of enterprises at the address
    phone: float = 1.5
    officer: float = 2.0
    shareholder: float = 3.0
    legal_rep: float = 4.0
    hop2: float = 0.5  # a second-hop link counts this share, capped by its intermediate's score


DEFAULT_WEIGHTS = LinkWeights()


@dataclass(slots=True)
class Link:
    kind: LinkKind
    value: str  # normalised address or phone, person key, or shareholder uscc
    via: str  # the seed (or, at hop 2, the first-hop candidate) it ties to
    label_zh: str
    weight: float = 0.0  # what this link adds to the candidate's score


@dataclass(slots=True)
class Candidate:
    uscc: str
    name: str
    score: float
    hops: int
    links: list[Link] = field(default_factory=list)


def link_weight(kind: LinkKind, hub_size: int, weights: LinkWeights = DEFAULT_WEIGHTS) -> float:
    """The weight of one link; an address shared by ``hub_size`` enterprises counts less.

    >>> link_weight("address", 2), round(link_weight("address", 4096), 3), link_weight("phone", 9)
    (1.0, 0.083, 1.5)
    """
    base: float = getattr(weights, kind)
    return base / max(1.0, math.log2(hub_size)) if kind == "address" else base


def _people(p: EnterpriseProfile) -> dict[str, tuple[PersonRef, LinkKind, str]]:
    """Each person of ``p`` with the strongest role held, as link kind and in Chinese."""
    out: dict[str, tuple[PersonRef, LinkKind, str]] = {}
    for holder in p.shareholders:
        if holder.person is not None:
            out[holder.person.key] = (holder.person, "shareholder", "股东")
    for ref in p.officers:
        out[ref.key] = (ref, "officer", role_zh(ref.role))
    if p.legal_rep is not None:
        out[p.legal_rep.key] = (p.legal_rep, "legal_rep", role_zh("legal_rep"))
    return out


def _owners(p: EnterpriseProfile) -> dict[str, str]:
    """The enterprise itself and its enterprise shareholders: uscc -> name."""
    owners = {s.uscc: s.name for s in p.shareholders if s.uscc}
    return owners | {p.uscc: p.name or p.uscc}


def _keys(p: EnterpriseProfile) -> set[str]:
    keys = {f"person:{k}" for k in _people(p)} | {f"own:{u}" for u in _owners(p)}
    if p.address_norm:
        keys.add(f"addr:{p.address_norm}")
    if p.phone_norm:
        keys.add(f"phone:{p.phone_norm}")
    return keys


def ties(
    via: EnterpriseProfile,
    cand: EnterpriseProfile,
    sizes: Mapping[str, int],
    *,
    noun: str = "种子企业",
    weights: LinkWeights = DEFAULT_WEIGHTS,
) -> list[Link]:
    """Every link between two profiles; ``sizes`` are index sizes (``addr:…`` -> n)."""
    who = f"{noun}{via.uscc}"
    links: list[Link] = []
    if via.address_norm and via.address_norm == cand.address_norm:
        addr = via.address_norm
        size = sizes.get(f"addr:{addr}", 2)
        crowd = f"（该地址登记{size}家企业）" if size > 2 else ""
        label = f"与{who}共用注册地址“{addr}”{crowd}"
        links.append(Link("address", addr, via.uscc, label, link_weight("address", size, weights)))
    if via.phone_norm and via.phone_norm == cand.phone_norm:
        label = f"与{who}共用联系电话{via.phone_norm}"
        links.append(Link("phone", via.phone_norm, via.uscc, label, weights.phone))
    theirs = _people(cand)
    for key, (ref, kind_a, role_a) in sorted(_people(via).items()):
        if key not in theirs:
            continue
        _, kind_b, role_b = theirs[key]
        kind = min(kind_a, kind_b, key=_PERSON_KINDS.index)
        person = f"{ref.name}（身份证号{ref.masked}）"
        label = (
            f"与{who}共用{role_a}{person}"
            if role_a == role_b
            else f"与{who}共用人员{person}：在{noun}任{role_a}，在本企业任{role_b}"
        )
        links.append(Link(kind, key, via.uscc, label, link_weight(kind, 2, weights)))
    ours, owners = _owners(cand), _owners(via)
    for uscc in sorted(owners.keys() & ours.keys()):
        if uscc == via.uscc:
            label = f"{who}是本企业股东"
        elif uscc == cand.uscc:
            label = f"本企业是{who}的股东"
        else:
            label = f"与{who}有共同股东{owners[uscc]}（{uscc}）"
        links.append(Link("shareholder", uscc, via.uscc, label, weights.shareholder))
    return links


def collide(
    frontier: Sequence[EnterpriseProfile],
    found: Sequence[EnterpriseProfile],
    sizes: Mapping[str, int],
    *,
    via_scores: Mapping[str, float] | None = None,
    noun: str = "种子企业",
    weights: LinkWeights = DEFAULT_WEIGHTS,
) -> list[Candidate]:
    """Tie each found profile to every frontier profile it shares a key with. Given the
    frontier's ``via_scores`` this is hop 2: a link counts ``weights.hop2`` of its weight,
    and never more than that share of its via's score."""
    holders: dict[str, list[EnterpriseProfile]] = {}
    for via in frontier:
        for key in _keys(via):
            holders.setdefault(key, []).append(via)
    out = []
    for cand in found:
        vias = {v.uscc: v for key in _keys(cand) for v in holders.get(key, ())}
        links = [
            x for u in sorted(vias) for x in ties(vias[u], cand, sizes, noun=noun, weights=weights)
        ]
        if via_scores is not None:
            for x in links:
                x.weight = weights.hop2 * min(x.weight, via_scores[x.via])
        if links:
            links.sort(key=lambda x: -x.weight)
            hops = 1 if via_scores is None else 2
            out.append(
                Candidate(cand.uscc, cand.name or "", sum(x.weight for x in links), hops, links)
            )
    return out


def rank(candidates: Collection[Candidate], limit: int) -> list[Candidate]:
    """The ``limit`` highest scores, ties broken by uscc."""
    return sorted(candidates, key=lambda c: (-c.score, c.uscc))[:limit]


async def _profiles(store: ProfileStore, usccs: Collection[str]) -> list[EnterpriseProfile]:
    docs = await store.docs([EntityRef("ent", u) for u in sorted(usccs)]) if usccs else {}
    return [EnterpriseProfile.model_validate_json(doc) for doc in docs.values()]


async def _neighbours(
    store: ProfileStore,
    frontier: Sequence[EnterpriseProfile],
    known: set[str],
    sizes: dict[str, int],
    cap: int,
) -> list[EnterpriseProfile]:
    """One hop level: the profiles sharing an index with, or holding shares of, the
    frontier, other than ``known``. Indices already read (in ``sizes``) are not re-read."""
    keys = {key for p in frontier for key in _keys(p)}
    lookups = {k for k in keys if not k.startswith("own:")} - sizes.keys()
    hubs = await store.hubs(lookups, cap) if lookups else {}
    sizes.update((name, hub.size) for name, hub in hubs.items())
    found = {m for hub in hubs.values() for m, _ in hub.members}
    found |= {k.removeprefix("own:") for k in keys if k.startswith("own:")}
    return await _profiles(store, found - known)


async def related(store: ProfileStore, uscc: str, *, cap: int = HUB_CAP) -> list[Candidate]:
    """The enterprises linked to one enterprise, strongest first, each link with its kind."""
    me = await _profiles(store, [uscc])
    sizes: dict[str, int] = {}
    found = await _neighbours(store, me, {uscc}, sizes, cap)
    return rank(collide(me, found, sizes, noun="企业"), len(found))


async def expand(
    store: ProfileStore,
    seeds: Sequence[str],
    *,
    hops: int = 1,
    limit: int = 200,
    weights: LinkWeights = DEFAULT_WEIGHTS,
    hub_cap: int = HUB_CAP,
    frontier_cap: int = FRONTIER_CAP,
) -> list[Candidate]:
    """The enterprises tied to the ``seeds`` within ``hops`` (1 or 2), best first."""
    if hops not in (1, 2):
        raise ValueError(f"hops must be 1 or 2, not {hops}")
    known, sizes = set(seeds), dict[str, int]()
    frontier = await _profiles(store, known)
    found = await _neighbours(store, frontier, known, sizes, hub_cap)
    first = collide(frontier, found, sizes, weights=weights)
    if hops == 1 or not first:
        return rank(first, limit)
    top = rank(first, frontier_cap)
    known |= {c.uscc for c in first}
    by_uscc = {p.uscc: p for p in found}
    middle = [by_uscc[c.uscc] for c in top]
    further = await _neighbours(store, middle, known, sizes, hub_cap)
    scores = {c.uscc: c.score for c in top}
    second = collide(middle, further, sizes, via_scores=scores, noun="关联企业", weights=weights)
    return rank(first + second, limit)
