"""Re-verifying a published draw: from its record alone (seed, candidate set, inspector
pool with conflicts, quotas, ``n``, inspectors per enterprise) re-run :func:`api.draw.draw`
and compare. Used by ``GET /api/v1/inspections/draws/{id}/verify`` and by the command
``riskwire draws verify FILE`` (:mod:`cli.admin`), which needs nothing but the record, so
anyone holding the published document can check it without riskwire's data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from api.draw import Inspector, Letter, candidates_hash, draw, inspectors_hash

MAX_PROBLEMS = 20


def _inputs(record: Mapping[str, Any]) -> tuple[dict[str, Letter], list[Inspector]]:
    candidates = {str(c["uscc"]): cast(Letter, c["grade"]) for c in record["candidates"]}
    inspectors = [
        Inspector(str(i["inspector_id"]), str(i.get("name", "")), frozenset(i.get("conflicts", [])))
        for i in record["inspectors"]
    ]
    return candidates, inspectors


def _drawn(items: Any) -> list[tuple[str, str, tuple[str, ...], bool]]:
    return [
        (
            str(i["uscc"]),
            str(i["grade"]),
            tuple(str(p["inspector_id"]) for p in i["inspectors"]),
            bool(i["shortfall"]),
        )
        for i in items
    ]


def check(record: Mapping[str, Any]) -> list[str]:
    """Every way the record disagrees with a re-run of its own inputs (empty: it holds)."""
    try:
        candidates, inspectors = _inputs(record)
        recorded = _drawn(record["items"])
        result = draw(
            candidates,
            seed=str(record["seed"]),
            inspectors=inspectors,
            per_enterprise=int(record["per_enterprise"]),
            quotas={cast(Letter, g): float(q) for g, q in record["quotas"].items()},
            n=record.get("n"),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return [f"记录不完整，无法复核：{type(exc).__name__} {str(exc)[:200]}"]
    problems: list[str] = []
    if candidates_hash(candidates) != record.get("candidates_hash"):
        problems.append("候选集哈希与候选企业清单不符")
    if len(candidates) != record.get("candidates_count"):
        problems.append("候选企业数与候选企业清单不符")
    if inspectors_hash(inspectors) != record.get("inspectors_hash"):
        problems.append("执法人员名录哈希与名录不符")
    rerun = [
        (d.uscc, d.grade, tuple(i.inspector_id for i in d.inspectors), d.shortfall)
        for d in result.items
    ]
    if len(rerun) != len(recorded):
        problems.append(f"按记录的输入应抽取{len(rerun)}家，记录为{len(recorded)}家")
    for k, (want, got) in enumerate(zip(rerun, recorded, strict=False), start=1):
        if want != got:
            problems.append(f"第{k}项应为{want[0]}（执法人员{'、'.join(want[2])}），记录为{got[0]}")
        if len(problems) >= MAX_PROBLEMS:
            break
    return problems
