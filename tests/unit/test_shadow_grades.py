"""Shadow rules with a ``[grading]`` table, without Redis: the candidate grades each
enterprise beside the live rules on the same profiles, its rules see its own grade, nothing
more is read, and the lane writes the pair of letters apart; and one rules version from the
candidate to the promoted live rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from processors.grades import Regrader
from processors.shadow import ShadowLane, ShadowRun
from rules.config import RulesConfig, build_rules, loads_rules_config
from rules.engine import RuleEngine
from rules.examples import Kit
from rules.grade_downgrade import GradeDowngrade
from rules.grading import DEFAULT_WEIGHTS
from rules.grading.table import checked_grading
from rules.live import effective
from rules.shadow import LIVE, candidate_config, candidate_version, draft_shadow
from rules.shadow_grades import decode_pair, transitions_of
from rules.shadow_store import promoted

from .example_kit import example_kit

LENIENT = checked_grading({"cutoffs": {"a": 20.0, "b": 80.0, "c": 90.0}})  # C is B here


class Script:
    def __init__(self, name: str, calls: list[tuple[str, list[Any]]]) -> None:
        self.name, self.calls = name, calls

    async def __call__(self, *, keys: Sequence[str], args: list[Any]) -> int:
        self.calls.append((self.name, args))
        return 1


class FakeRedis:
    def __init__(self, stored: dict[str, bytes] | None = None) -> None:
        self.calls: list[tuple[str, list[Any]]] = []
        self.stored = stored or {}
        self.reads: list[tuple[str, list[str]]] = []
        self._names = iter(["alerts", "grades"])

    def register_script(self, _: str) -> Script:
        return Script(next(self._names), self.calls)

    async def hmget(self, key: str, fields: list[str]) -> list[bytes | None]:
        self.reads.append((key, list(fields)))
        return [self.stored.get(f) for f in fields]


def _arrears_batch(kit: Kit, uscc: str) -> tuple[Any, Any]:
    """B as it came in, C after 150,000 CNY of arrears (grade_downgrade's own example)."""
    kit.feed(kit.registered(uscc))
    before = kit.facts(uscc)
    event = kit.feed(kit.f.tax_arrears(uscc, 150_000.0, time=kit.day(5)))
    return event, before


async def _one_batch(lane: ShadowLane, run: ShadowRun, kit: Kit, uscc: str) -> None:
    """One batch as the pipeline runs it: regrade (live, then the candidate), evaluate,
    flush."""
    live = RuleEngine([GradeDowngrade()])
    event, before = _arrears_batch(kit, uscc)
    regrader = Regrader({}, live.grading, rules_version=live.rules_version)
    regrader.regrade(before.enterprise, before.people, kit.day(0))
    facts = kit.facts(uscc)
    change = regrader.regrade(facts.enterprise, facts.people, event.time)
    lane.regrade(run, facts.enterprise, facts.people, change, live.grading)
    graded = replace(facts, grade=change.current, previous_grade=change.previous)
    lane.compare(run, event, graded, live.evaluate(event, graded))
    await lane.flush()


async def test_the_candidate_grades_beside_the_live_rules_and_its_rules_see_its_grade() -> None:
    redis = FakeRedis()
    lane = ShadowLane(redis, cap=50)  # type: ignore[arg-type]
    kit = example_kit()
    uscc = kit.f.uscc()
    run = ShadowRun(3, "r-cand", RuleEngine([GradeDowngrade()]), LENIENT)
    await _one_batch(lane, run, kit, uscc)
    assert redis.reads == []  # nothing more is read for it
    written = dict(redis.calls)
    # live fell B -> C and raised grade_downgrade; the candidate keeps B and does not
    alerts = written["alerts"]
    assert alerts[:2] == [3, 50]
    assert alerts[2:5] == [f"grade_downgrade:enterprise:{uscc}", LIVE, "grade_downgrade"]
    grades = written["grades"]
    assert grades[:3] == [3, 50, uscc]
    pair = decode_pair(uscc, grades[3])
    assert pair is not None
    assert (pair.live, pair.shadow) == ("C", "B")
    assert pair.live_score == pair.shadow_score  # same facts, same points, other cut-offs


async def test_a_candidate_with_the_live_weights_reads_and_writes_no_grades() -> None:
    redis = FakeRedis()
    lane = ShadowLane(redis, cap=50)  # type: ignore[arg-type]
    kit = example_kit()
    uscc = kit.f.uscc()
    run = ShadowRun(2, "r-same", RuleEngine([GradeDowngrade()]), DEFAULT_WEIGHTS)
    await _one_batch(lane, run, kit, uscc)
    assert redis.reads == []
    assert [name for name, _ in redis.calls] == ["alerts"]


def test_the_candidate_version_is_the_rules_version_and_the_promoted_one() -> None:
    text = "[rules.tax_arrears]\nmin_arrears_cny = 97000\n[grading]\nabnormal_listing = 25.0\n"
    shadow = draft_shadow(text, "c", as_json=False, by="t", loaded_at="now")
    candidate = loads_rules_config(text, "c")[0]
    assert (
        shadow.version
        == candidate.version
        == candidate_config(shadow.rules, shadow.grading).version
    )
    assert shadow.version.startswith("r-")
    assert candidate_version(shadow.rules, shadow.grading) == shadow.version
    now = datetime(2026, 12, 7, tzinfo=UTC)
    for base_text in ("", "[rules.litigation_surge]\nenabled = false\n[grading.cutoffs]\nc = 50\n"):
        base = loads_rules_config(base_text, "base")[0]
        live = effective(base, promoted(base, candidate, by="t", now=now))
        assert live.version == shadow.version
        assert live.grading == candidate.grading
        engine = RuleEngine(build_rules(live), live)
        assert engine.rules_version == shadow.version
    # a candidate without [grading] promoted over a base with one: the defaults again
    plain = loads_rules_config("[rules.tax_arrears]\nmin_arrears_cny = 97000\n", "p")[0]
    base = loads_rules_config("[grading.cutoffs]\nc = 50\n", "base")[0]
    assert effective(base, promoted(base, plain, by="t", now=now)).version == plain.version
    assert RulesConfig().version == candidate_version({})


def test_the_transition_counts_leave_out_zeros_and_read_untracked() -> None:
    counts: dict[bytes | str, bytes | str] = {b"B>C": b"4", b"C>C": b"0", b"untracked": b"2"}
    counts["A>A"] = "7"
    assert transitions_of(counts) == ({("B", "C"): 4, ("A", "A"): 7}, 2)
