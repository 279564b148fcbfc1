""" "Double random, one public" (双随机、一公开): draw enterprises to inspect, grade-stratified
and risk-weighted, and pair each with inspectors drawn at random, so that anyone holding the
seed and the candidate set can re-run the draw by hand and get the same list.

The procedure (:func:`draw`, pure) uses SHA-256 rather than a library's random generator,
whose algorithms may change between versions:

1. Allocate: grade ``g`` with ``N_g`` candidates and quota ``q_g`` % gets ``ceil(N_g * q_g
   / 100)`` places; given a total ``n`` instead, places are shared in proportion to
   ``q_g * N_g`` (no grade gets more than ``N_g``; largest remainders round).
2. Within each grade, order the candidates by ``SHA-256(seed|uscc)`` and take the first.
3. For each drawn enterprise, order the inspectors by ``SHA-256(seed|inspector|uscc|id)``,
   skip those who declared a conflict with it, and take the first ``per_enterprise``.

The candidate set is fingerprinted by :func:`candidates_hash`, the inspector pool (with
the conflicts declared) by :func:`inspectors_hash`; :func:`check` re-runs a recorded
draw from what its record states and lists every difference.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

Letter = Literal["A", "B", "C", "D"]
RISK_ORDER: Final[tuple[Letter, ...]] = ("D", "C", "B", "A")  # highest risk first
DEFAULT_QUOTAS: Final[Mapping[Letter, float]] = {"D": 100.0, "C": 20.0, "B": 8.0, "A": 4.0}

METHOD_ZH: Final = (
    "分层随机抽取：各信用等级按“抽查比例×企业数”分配名额（指定总数n时按此比例缩放，"
    "名额不超过该等级企业数，余数按最大余数法分配）；同一等级内按SHA-256(随机种子|统一社会"
    "信用代码)的十六进制值升序取前若干家；每家企业按SHA-256(随机种子|inspector|统一社会信用"
    "代码|执法人员编号)升序选派执法人员，跳过申报回避的人员。候选集哈希为按字典序排列、"
    "以换行分隔的“代码:等级”行的SHA-256；执法人员名录哈希为按编号排列、以换行分隔的"
    "“编号:回避企业代码(按字典序、逗号分隔)”行的SHA-256。随机种子由服务器以密码学安全"
    "随机数生成，候选企业与执法人员均取自系统记录，调用方不能指定。"
)


@dataclass(frozen=True, slots=True)
class Inspector:
    inspector_id: str
    name: str = ""
    conflicts: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Drawn:
    uscc: str
    grade: Letter
    inspectors: tuple[Inspector, ...]
    shortfall: bool


@dataclass(frozen=True, slots=True)
class DrawResult:
    allocation: Mapping[Letter, int]
    populations: Mapping[Letter, int]
    items: tuple[Drawn, ...] = field(default_factory=tuple)


def rank_key(seed: str, *parts: str) -> str:
    """``SHA-256(seed|part|…)`` in hex: the order a draw takes.

    >>> rank_key("s", "91350100M000100Y43")[:12]
    '3f976a31eebb'
    """
    return hashlib.sha256("|".join((seed, *parts)).encode()).hexdigest()


def candidates_hash(candidates: Mapping[str, Letter]) -> str:
    """SHA-256 of the sorted ``uscc:grade`` lines joined by newlines."""
    lines = sorted(f"{uscc}:{grade}" for uscc, grade in candidates.items())
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def inspectors_hash(inspectors: Sequence[Inspector]) -> str:
    """SHA-256 of the ``id:conflict,conflict`` lines (conflicts sorted), sorted by id."""
    lines = sorted(f"{i.inspector_id}:{','.join(sorted(i.conflicts))}" for i in inspectors)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def allocate(
    populations: Mapping[Letter, int], quotas: Mapping[Letter, float], n: int | None
) -> dict[Letter, int]:
    """Places per grade (see the module docstring).

    >>> allocate({"D": 5, "C": 50, "B": 100, "A": 100}, {"D": 100, "C": 20, "B": 8, "A": 4}, None)
    {'D': 5, 'C': 10, 'B': 8, 'A': 4}
    >>> allocate({"D": 5, "C": 50, "B": 100, "A": 100}, {"D": 100, "C": 20, "B": 8, "A": 4}, 12)
    {'D': 2, 'C': 4, 'B': 4, 'A': 2}
    """
    counts: dict[Letter, int] = dict.fromkeys(RISK_ORDER, 0)
    weights = {g: quotas.get(g, 0.0) * populations.get(g, 0) for g in RISK_ORDER}
    if n is None:
        for g in RISK_ORDER:
            counts[g] = min(populations.get(g, 0), math.ceil(weights[g] / 100 - 1e-9))
        return counts
    active = [g for g in RISK_ORDER if weights[g] > 0]
    remaining = min(n, sum(populations[g] for g in active))
    shares: dict[Letter, float] = {}
    while active:
        total = sum(weights[g] for g in active)
        shares = {g: remaining * weights[g] / total for g in active}
        full = [g for g in active if shares[g] >= populations[g]]
        if not full:
            break
        for g in full:
            counts[g] = populations[g]
            remaining -= populations[g]
            active.remove(g)
    for g in active:
        counts[g] = math.floor(shares[g])
    left = remaining - sum(counts[g] for g in active)
    by_remainder = sorted(active, key=lambda g: (-(shares[g] - math.floor(shares[g])), g))
    for g in by_remainder[:left]:
        counts[g] += 1
    return counts


def pair(seed: str, uscc: str, inspectors: Sequence[Inspector], k: int) -> tuple[Inspector, ...]:
    """The ``k`` inspectors first in the seed's order for ``uscc``, conflicts skipped."""
    free = [i for i in inspectors if uscc not in i.conflicts]
    free.sort(key=lambda i: rank_key(seed, "inspector", uscc, i.inspector_id))
    return tuple(free[:k])


def draw(
    candidates: Mapping[str, Letter],
    *,
    seed: str,
    inspectors: Sequence[Inspector],
    per_enterprise: int = 2,
    quotas: Mapping[Letter, float] = DEFAULT_QUOTAS,
    n: int | None = None,
) -> DrawResult:
    """The draw over ``candidates`` (uscc -> grade): highest-risk grade first, each grade
    in the seed's order. The same arguments always give the same result."""
    strata: dict[Letter, list[str]] = {g: [] for g in RISK_ORDER}
    for uscc, grade in candidates.items():
        strata[grade].append(uscc)
    populations = {g: len(strata[g]) for g in RISK_ORDER}
    allocation = allocate(populations, quotas, n)
    items: list[Drawn] = []
    for g in RISK_ORDER:
        ranked = sorted(strata[g], key=lambda u: rank_key(seed, u))
        for uscc in ranked[: allocation[g]]:
            chosen = pair(seed, uscc, inspectors, per_enterprise)
            items.append(Drawn(uscc, g, chosen, len(chosen) < per_enterprise))
    return DrawResult(allocation, populations, tuple(items))


def ranked(candidates: Mapping[str, Letter], seed: str, grade: Letter) -> list[str]:
    """One grade's candidates in the seed's order (to check the head of it ahead)."""
    return sorted((u for u, g in candidates.items() if g == grade), key=lambda u: rank_key(seed, u))
