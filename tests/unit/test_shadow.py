"""Shadow rules without Redis: what a worker notes per event (each side's alerts, never a
clear), the version of a candidate, and the live overrides a promotion writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from processors.shadow import ShadowLane, ShadowRun
from rules.config import RulesConfig, build_rules, loads_rules_config
from rules.engine import RuleEngine
from rules.live import Overrides, effective
from rules.params import TaxArrearsParams
from rules.shadow import BOTH, SHADOW, candidate_version
from rules.shadow_store import overrides_for
from rules.tax_arrears import TaxArrears

from .example_kit import example_kit


class Script:
    def __init__(self) -> None:
        self.calls: list[list[Any]] = []

    async def __call__(self, *, keys: Sequence[str], args: list[Any]) -> int:
        self.calls.append(args)
        return 1


class FakeRedis:
    def __init__(self) -> None:
        self.script = Script()

    def register_script(self, _: str) -> Script:
        return self.script


def _sides(args: list[Any]) -> dict[str, tuple[int, str]]:
    return {args[i]: (args[i + 1], args[i + 2]) for i in range(2, len(args), 4)}


async def test_the_lane_notes_each_sides_alerts_per_fingerprint() -> None:
    redis = FakeRedis()
    lane = ShadowLane(redis, cap=50)  # type: ignore[arg-type]
    kit = example_kit()
    near, far, gone = kit.f.uscc(), kit.f.uscc(), kit.f.uscc()
    for uscc in (near, far, gone):
        kit.feed(kit.registered(uscc, day=-400))
    run = ShadowRun(4, "c-x", RuleEngine([TaxArrears(TaxArrearsParams(min_arrears_cny=50_000.0))]))
    live = RuleEngine([TaxArrears()])
    for uscc, amount in ((near, 70_000.0), (far, 300_000.0)):
        event = kit.feed(kit.f.tax_arrears(uscc, amount, time=kit.day(1)))
        facts = kit.facts(uscc)
        lane.compare(run, event, facts, live.evaluate(event, facts))
    paid = kit.feed(kit.f.tax_paid(gone, time=kit.day(2)))  # a clear on both sides: nothing
    lane.compare(run, paid, kit.facts(gone), live.evaluate(paid, kit.facts(gone)))
    await lane.flush()
    [args] = redis.script.calls
    assert args[:2] == [4, 50]
    assert _sides(args) == {
        f"tax_arrears:enterprise:{near}": (SHADOW, "tax_arrears"),
        f"tax_arrears:enterprise:{far}": (BOTH, "tax_arrears"),
    }
    example = orjson.loads(args[args.index(f"tax_arrears:enterprise:{near}") + 3])
    assert example["subject"] == {"kind": "enterprise", "id": near}
    assert example["event_type"] == "tax.arrears"
    await lane.flush()
    assert len(redis.script.calls) == 1  # nothing new: no write


async def test_a_new_generation_forgets_what_the_old_one_noted() -> None:
    redis = FakeRedis()
    lane = ShadowLane(redis, cap=50)  # type: ignore[arg-type]
    kit = example_kit()
    uscc = kit.f.uscc()
    kit.feed(kit.registered(uscc, day=-400))
    event = kit.feed(kit.f.tax_arrears(uscc, 300_000.0, time=kit.day(1)))
    facts = kit.facts(uscc)
    live = RuleEngine([TaxArrears()]).evaluate(event, facts)
    lane.compare(ShadowRun(1, "a", RuleEngine([])), event, facts, live)
    lane.compare(ShadowRun(2, "b", RuleEngine([TaxArrears()])), event, facts, live)
    await lane.flush()
    [args] = redis.script.calls
    assert args[0] == 2
    assert set(_sides(args).values()) == {(BOTH, "tax_arrears")}  # not (LIVE) from gen 1


def test_the_version_is_the_content_whatever_the_format() -> None:
    toml = "[rules.tax_arrears]\nratings = ['D', 'C']\nmin_arrears_cny = 5000\n"
    json_ = '{"rules": {"tax_arrears": {"min_arrears_cny": 5000, "ratings": ["D", "C"]}}}'
    a = loads_rules_config(toml, "a")[1]
    b = loads_rules_config(json_, "b", as_json=True)[1]
    assert candidate_version(a) == candidate_version(b)
    assert candidate_version(a) != candidate_version({"tax_arrears": {"min_arrears_cny": 6000}})


def test_promotion_overrides_make_any_base_run_the_candidate() -> None:
    base, _ = loads_rules_config(
        "[rules.tax_arrears]\nmin_arrears_cny = 200000\n"
        "[rules.litigation_surge]\nenabled = false\n",
        "base",
    )
    candidate, _ = loads_rules_config(
        "[rules.unreachable_contact]\nmin_failures = 1\n[rules.early_warning]\nenabled = false\n",
        "candidate",
    )
    overrides = overrides_for(base, candidate)
    assert overrides == {
        "tax_arrears": {"min_arrears_cny": 100_000.0},
        "litigation_surge": {"enabled": True},
        "unreachable_contact": {"min_failures": 1},
        "early_warning": {"enabled": False},
    }
    running = effective(base, Overrides(rules=overrides))
    assert running.thresholds == candidate.thresholds
    assert running.disabled == candidate.disabled
    assert [r.rule_id for r in build_rules(running)] == [r.rule_id for r in build_rules(candidate)]
    assert overrides_for(RulesConfig(), RulesConfig()) == {}
