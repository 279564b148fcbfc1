"""The API's side of shadow rules (:mod:`rules.shadow`): load a candidate, drop it, read
the live/shadow diff, and promote the candidate to live in one compare-and-set."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import orjson
from redis.asyncio import Redis

from rules.config import DEFAULT_PARAMS, RulesConfig
from rules.grading.table import grading_table
from rules.live import RULES_KEY, LiveRules, Overrides, effective
from rules.shadow import (
    ADDED_KEY,
    COUNT_KEY,
    DIFF_KEYS,
    DROPPED_KEY,
    EXAMPLES_KEY,
    LOAD_LUA,
    PROMOTE_LUA,
    SEEN_KEY,
    SHADOW_KEY,
    NoShadow,
    Shadow,
    ShadowConflict,
    decode_shadow,
    draft_shadow,
)
from rules.shadow_grades import GradeDiff, read_grade_diff
from streams.rule_catalog import RULE_IDS, departments_for

Kind = Literal["added", "dropped"]
MAX_ATTEMPTS = 20
SCAN_BATCH = 200
SCAN_ROUNDS = 10  # a department-filtered page reads at most this many batches


@dataclass(frozen=True, slots=True)
class RuleDiff:
    rule_id: str
    departments: list[str]
    added: int
    dropped: int


@dataclass(frozen=True, slots=True)
class DiffPage:
    shadow: Shadow | None
    tracked: int  # fingerprints followed since the candidate was loaded
    untracked: int  # alerts seen after the cap was reached (not in the counts)
    rules: list[RuleDiff]
    examples: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Promotion:
    shadow: Shadow
    live: Overrides  # the overrides now in force
    previous: Overrides  # the overrides they replaced


def overrides_for(base: RulesConfig, candidate: RulesConfig) -> dict[str, dict[str, Any]]:
    """The live overrides that make ``base`` run exactly ``candidate``: each value that
    differs, and ``enabled`` where it differs."""
    out: dict[str, dict[str, Any]] = {}
    for rule_id in DEFAULT_PARAMS:
        mine, theirs = base.params(rule_id).as_json(), candidate.params(rule_id).as_json()
        table = {k: v for k, v in theirs.items() if mine[k] != v}
        if base.enabled(rule_id) != candidate.enabled(rule_id):
            table["enabled"] = candidate.enabled(rule_id)
        if table:
            out[rule_id] = table
    return out


def candidate_config(shadow: Shadow) -> RulesConfig:
    """The rules the candidate runs (a whole rules file: defaults where it is silent)."""
    return shadow.config()


def promoted(base: RulesConfig, candidate: RulesConfig, *, by: str, now: datetime) -> Overrides:
    """The live overrides that make ``base`` run exactly ``candidate``, its grade weights
    included: ``effective(base, promoted(...)).version == candidate.version``."""
    grading = None if candidate.grading == base.grading else grading_table(candidate.grading)
    return Overrides(0, overrides_for(base, candidate), now.isoformat(), by, grading=grading)


class ShadowRules:
    def __init__(self, redis: Redis, base: RulesConfig | None = None) -> None:
        self._redis = redis
        self.base = base or RulesConfig()
        self._load = redis.register_script(LOAD_LUA)
        self._promote = redis.register_script(PROMOTE_LUA)
        self._live = LiveRules(redis, self.base)

    async def read(self) -> Shadow | None:
        doc, gen = await self._redis.hmget(SHADOW_KEY, "doc", "gen")
        return decode_shadow(doc, gen)

    async def load(self, text: str, *, as_json: bool, by: str, now: datetime) -> Shadow:
        """Check ``text`` exactly as a rules file and put it in shadow (replacing any
        candidate there, and its diff). Raises :class:`~core.errors.ConfigError`."""
        draft = draft_shadow(text, "候选规则", as_json=as_json, by=by, loaded_at=now.isoformat())
        gen = int(await self._load(keys=[SHADOW_KEY, *DIFF_KEYS], args=[draft.doc()]))
        return replace(draft, generation=gen)

    async def drop(self) -> Shadow:
        """Remove the candidate and its diff; raises :class:`NoShadow`."""
        current = await self.read()
        if current is None or int(await self._load(keys=[SHADOW_KEY, *DIFF_KEYS], args=[""])) < 0:
            raise NoShadow("没有影子规则")
        return current

    async def promote(
        self, *, by: str, now: datetime, expected_generation: int | None = None
    ) -> Promotion:
        """Make the candidate the live rules and clear the shadow, in one step. Raises
        :class:`NoShadow`, or :class:`ShadowConflict` when ``expected_generation`` is not
        the shadow's."""
        for _attempt in range(MAX_ATTEMPTS):
            shadow = await self.read()
            if shadow is None:
                raise NoShadow("没有影子规则")
            if expected_generation is not None and expected_generation != shadow.generation:
                raise ShadowConflict(
                    f"影子规则已变更（当前第{shadow.generation}代，请求基于第{expected_generation}代）"
                )
            previous = await self._live.read()
            new = promoted(self.base, candidate_config(shadow), by=by, now=now)
            effective(self.base, new)  # the whole must still load
            keys = [RULES_KEY, SHADOW_KEY, *DIFF_KEYS]
            ver, _gen = await self._promote(
                keys=keys, args=[shadow.generation, previous.version, new.doc()]
            )
            if int(ver) >= 0:
                live = replace(new, version=int(ver), previous=previous.rules)
                return Promotion(shadow, live, previous)
            if int(ver) == -1 and expected_generation is not None:
                raise ShadowConflict("影子规则已变更，请刷新后重试")
        raise ShadowConflict("规则配置正被频繁修改，请稍后重试")

    async def diff(
        self,
        *,
        kind: Kind = "added",
        rule_id: str | None = None,
        department: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> DiffPage:
        """The counts per rule (only the rules routed to ``department`` when given) and a
        page of ``kind`` examples in fingerprint order after ``cursor``."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hmget(SHADOW_KEY, "doc", "gen")
            pipe.hgetall(COUNT_KEY)
            pipe.hlen(SEEN_KEY)
            (doc, gen), counts, tracked = await pipe.execute()
        n = {k.decode(): int(v) for k, v in counts.items()}
        wanted = [
            r
            for r in RULE_IDS
            if (rule_id is None or r == rule_id)
            and (department is None or department in departments_for(r))
        ]
        rules = [
            RuleDiff(r, departments_for(r), n.get(f"added|{r}", 0), n.get(f"dropped|{r}", 0))
            for r in wanted
        ]
        fps, next_cursor = await self._page(kind, wanted, rule_id, cursor, limit)
        raw = await self._redis.hmget(EXAMPLES_KEY, fps) if fps else []
        examples = [orjson.loads(e) for e in raw if e]
        return DiffPage(
            shadow=decode_shadow(doc, gen),
            tracked=int(tracked),
            untracked=n.get("untracked", 0),
            rules=[r for r in rules if r.added or r.dropped],
            examples=examples,
            next_cursor=next_cursor,
        )

    async def grade_diff(self, *, cursor: str | None = None, limit: int = 20) -> GradeDiff:
        """The grade side of the diff (:mod:`rules.shadow_grades`): letters live → shadow."""
        return await read_grade_diff(self._redis, cursor=cursor, limit=limit)

    async def _page(
        self, kind: Kind, wanted: Iterable[str], rule_id: str | None, cursor: str | None, limit: int
    ) -> tuple[list[str], str | None]:
        key = ADDED_KEY if kind == "added" else DROPPED_KEY
        allowed = set(wanted)
        if not allowed:
            return [], None
        lo = f"[{rule_id}:" if rule_id else "-"
        hi = f"({rule_id};" if rule_id else "+"
        if cursor is not None and (rule_id is None or cursor >= f"{rule_id}:"):
            lo = f"({cursor}"
        found: list[str] = []
        for _round in range(SCAN_ROUNDS):
            got = await self._redis.zrangebylex(key, lo, hi, 0, SCAN_BATCH)
            batch = [m.decode() if isinstance(m, bytes) else m for m in got]
            for fp in batch:
                if fp.split(":", 1)[0] in allowed:
                    found.append(fp)
                    if len(found) == limit:
                        return found, fp
            if len(batch) < SCAN_BATCH:
                return found, None
            lo = f"({batch[-1]}"
        return found, lo[1:]


def counts_by_department(rules: Iterable[RuleDiff]) -> dict[str, tuple[int, int]]:
    """``{department: (added, dropped)}`` summed over the rules routed to it."""
    out: dict[str, tuple[int, int]] = {}
    for r in rules:
        for d in r.departments:
            a, b = out.get(d, (0, 0))
            out[d] = (a + r.added, b + r.dropped)
    return out
