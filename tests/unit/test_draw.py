""" "Double random, one public": the same seed and candidates give the same draw; grades
get their quotas; an inspector never meets an enterprise it declared a conflict with; the
candidate set's hash is order-free and changes with any candidate."""

from __future__ import annotations

import hashlib
from typing import Any

from api.draw import (
    DEFAULT_QUOTAS,
    Inspector,
    Letter,
    allocate,
    candidates_hash,
    draw,
    inspectors_hash,
    rank_key,
)
from api.draw_check import check
from streams.identifiers import uscc_check_char

LETTERS: tuple[Letter, ...] = ("A", "B", "C", "D")


def uscc(i: int) -> str:
    body = f"91440300MA{i:07d}"
    return body + uscc_check_char(body)


def population(sizes: dict[Letter, int]) -> dict[str, Letter]:
    out: dict[str, Letter] = {}
    i = 0
    for grade, size in sizes.items():
        for _ in range(size):
            out[uscc(i)] = grade
            i += 1
    return out


POP = population({"A": 400, "B": 200, "C": 60, "D": 12})
TEAM = [Inspector(f"E{i:03d}", f"执法{i}") for i in range(10)]


def test_the_same_seed_and_candidates_give_the_same_draw() -> None:
    one = draw(POP, seed="2026Q1", inspectors=TEAM, n=40)
    shuffled = dict(reversed(list(POP.items())))
    again = draw(shuffled, seed="2026Q1", inspectors=list(reversed(TEAM)), n=40)
    assert one == again
    other = draw(POP, seed="2026Q2", inspectors=TEAM, n=40)
    assert [d.uscc for d in other.items] != [d.uscc for d in one.items]


def test_the_draw_is_the_documented_hash_order() -> None:
    result = draw(POP, seed="s", inspectors=TEAM, n=None)
    d_grade = sorted((u for u, g in POP.items() if g == "D"), key=lambda u: rank_key("s", u))
    assert [d.uscc for d in result.items if d.grade == "D"] == d_grade  # D: 100 %
    assert rank_key("s", "x") == hashlib.sha256(b"s|x").hexdigest()
    c_grade = sorted((u for u, g in POP.items() if g == "C"), key=lambda u: rank_key("s", u))
    assert [d.uscc for d in result.items if d.grade == "C"] == c_grade[:12]


def test_default_quotas_draw_each_grade_at_its_rate() -> None:
    result = draw(POP, seed="q", inspectors=TEAM)
    assert dict(result.allocation) == {"D": 12, "C": 12, "B": 16, "A": 16}
    assert dict(result.populations) == {"D": 12, "C": 60, "B": 200, "A": 400}
    assert [d.grade for d in result.items] == sorted(
        (d.grade for d in result.items), key="DCBA".index
    )


def test_a_total_is_shared_in_proportion_to_quota_times_population() -> None:
    counts = allocate({"D": 12, "C": 60, "B": 200, "A": 400}, DEFAULT_QUOTAS, 28)
    assert sum(counts.values()) == 28
    # weights 1200 : 1200 : 1600 : 1600 -> 6, 6, 8, 8
    assert counts == {"D": 6, "C": 6, "B": 8, "A": 8}


def test_a_grade_never_gets_more_than_it_has() -> None:
    counts = allocate({"D": 3, "C": 10, "B": 10, "A": 10}, DEFAULT_QUOTAS, 20)
    assert counts["D"] == 3
    assert sum(counts.values()) == 20
    assert allocate({"D": 3, "C": 0, "B": 0, "A": 0}, DEFAULT_QUOTAS, 50) == {
        "D": 3,
        "C": 0,
        "B": 0,
        "A": 0,
    }


def test_a_zero_quota_grade_is_never_drawn() -> None:
    result = draw(POP, seed="z", inspectors=TEAM, quotas={"D": 100, "C": 0, "B": 0, "A": 0}, n=9)
    assert {d.grade for d in result.items} == {"D"}
    assert len(result.items) == 9


def test_an_inspector_with_a_conflict_is_never_paired_with_that_enterprise() -> None:
    plain = draw(POP, seed="c", inspectors=TEAM, n=30, per_enterprise=2)
    target = plain.items[0]
    conflicted = {i.inspector_id for i in target.inspectors}
    team = [
        Inspector(i.inspector_id, i.name, frozenset({target.uscc}))
        if i.inspector_id in conflicted
        else i
        for i in TEAM
    ]
    again = draw(POP, seed="c", inspectors=team, n=30, per_enterprise=2)
    assert [d.uscc for d in again.items] == [d.uscc for d in plain.items]
    paired = {i.inspector_id for i in again.items[0].inspectors}
    assert len(paired) == 2
    assert not paired & conflicted
    pairs = [[i.inspector_id for i in d.inspectors] for d in again.items[1:]]
    assert pairs == [[i.inspector_id for i in d.inspectors] for d in plain.items[1:]]


def test_too_few_free_inspectors_is_a_shortfall() -> None:
    target = next(iter(POP))
    team = [Inspector("E1", conflicts=frozenset({target})), Inspector("E2")]
    result = draw({target: "D"}, seed="x", inspectors=team, per_enterprise=2)
    [only] = result.items
    assert [i.inspector_id for i in only.inspectors] == ["E2"]
    assert only.shortfall


def test_the_candidate_hash_is_order_free_and_covers_every_candidate() -> None:
    h = candidates_hash(POP)
    assert h == candidates_hash(dict(reversed(list(POP.items()))))
    lines = "\n".join(sorted(f"{u}:{g}" for u, g in POP.items()))
    assert h == hashlib.sha256(lines.encode()).hexdigest()
    first = next(iter(POP))
    assert candidates_hash({**POP, first: "A" if POP[first] != "A" else "B"}) != h
    assert candidates_hash({u: g for u, g in POP.items() if u != first}) != h


def _record(seed: str = "published-seed") -> dict[str, Any]:
    """A draw's record as the API publishes it (the fields the check reads)."""
    pool = population({"D": 3, "C": 20, "B": 40, "A": 40})
    team = [Inspector(i.inspector_id, i.name, frozenset({uscc(1)})) for i in TEAM[:4]] + TEAM[4:]
    result = draw(pool, seed=seed, inspectors=team, n=12)
    return {
        "draw_id": "01TEST",
        "seed": seed,
        "n": 12,
        "quotas": dict(DEFAULT_QUOTAS),
        "per_enterprise": 2,
        "inspectors": [
            {"inspector_id": i.inspector_id, "name": i.name, "conflicts": sorted(i.conflicts)}
            for i in team
        ],
        "inspectors_hash": inspectors_hash(team),
        "candidates": [{"uscc": u, "grade": g} for u, g in sorted(pool.items())],
        "candidates_count": len(pool),
        "candidates_hash": candidates_hash(pool),
        "items": [
            {
                "uscc": d.uscc,
                "grade": d.grade,
                "inspectors": [{"inspector_id": i.inspector_id} for i in d.inspectors],
                "shortfall": d.shortfall,
            }
            for d in result.items
        ],
    }


def test_a_record_re_verifies_from_the_inputs_it_states() -> None:
    assert check(_record()) == []


def test_a_doctored_record_does_not_verify() -> None:
    record = _record()
    items = list(record["items"])
    assert check({**record, "items": [*items[1:], items[0]]})
    assert check({**record, "seed": "another-seed"})
    assert check({**record, "candidates": list(record["candidates"])[1:]})
    assert any(
        "名录" in p for p in check({**record, "inspectors": list(record["inspectors"])[:-1]})
    )
    assert check({"seed": "x"}) != []
