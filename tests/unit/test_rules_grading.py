"""Grade weights and cut-offs live in the rules file (``[grading]``), load as strictly as
the thresholds, and are versioned with them: each grade records the rules version it was
computed under."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from processors.grades import MemoryGradeStore
from rules.config import RulesConfig, load_rules_config
from rules.engine import RuleEngine
from rules.grading import DEFAULT_WEIGHTS
from rules.live import Overrides, effective
from simulate.factory import EventFactory
from streams.codec import Decoder

from .pipeline_kit import T0, Feeder, processor
from .rules_file_kit import refusal, write

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "rules.example.toml"


def test_no_grading_table_grades_as_before_and_the_example_lists_the_defaults(
    tmp_path: Path,
) -> None:
    assert load_rules_config(write(tmp_path, "")).grading == DEFAULT_WEIGHTS
    example = load_rules_config(EXAMPLE)
    assert example.grading == DEFAULT_WEIGHTS
    assert example.version == RulesConfig().version  # the example is the defaults


def test_weights_and_cutoffs_load(tmp_path: Path) -> None:
    config = load_rules_config(
        write(
            tmp_path,
            "[grading]\nabnormal_listing = 25\ncase_window_days = 180\n"
            "arrears_tiers = [[50000, 25.0], [1, 10]]\nsteady_points = -6\n\n"
            "[grading.cutoffs]\nc = 55\n",
        )
    )
    weights = config.grading
    assert weights.abnormal_listing == 25.0
    assert isinstance(weights.abnormal_listing, float)
    assert weights.case_window_days == 180
    assert weights.arrears_tiers == ((50_000.0, 25.0), (1.0, 10.0))
    assert weights.steady_points == -6.0
    assert (weights.cutoffs.a, weights.cutoffs.b, weights.cutoffs.c) == (20.0, 40.0, 55.0)
    assert weights.base == DEFAULT_WEIGHTS.base  # not named: the default


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("[grading]\nabnormal_listng = 25\n", 2, ["unknown key [grading] 'abnormal_listng'"]),
        ("[grading]\n\nbase = '25'\n", 3, ["base must be a number"]),
        ("[grading]\nbase = true\n", 2, ["base must be a number, not a boolean"]),
        ("[grading]\ncase_window_days = 2.5\n", 2, ["case_window_days must be an integer"]),
        ("[grading]\ncase_window_days = 0\n", 2, ["case_window_days must be at least 1"]),
        ("[grading]\ncases_max = -3\n", 2, ["cases_max must not be negative"]),
        ("[grading]\narrears_tiers = [100000, 20]\n", 2, ["arrears_tiers must be an array of"]),
        ("[grading.cutoffs]\nd = 80\n", 2, ["unknown key [grading.cutoffs] 'd'"]),
        ("[grading.cutoffs]\nc = 120\n", 2, ["c must be a score from 0 to 100"]),
        ("grading = 3\n", None, ["'grading' must be a table"]),
        ("[grading.cutoffs]\na = 70\n", None, ["cut-offs must rise"]),
        ("[grading]\ntax_paid_tiers = [[1, -3.0], [100000, -6.0]]\n", None, ["largest"]),
    ],
)
def test_a_bad_grading_value_is_refused_naming_the_file_line_and_key(
    tmp_path: Path, text: str, line: int | None, words: list[str]
) -> None:
    message = refusal(tmp_path, text)
    if line is not None:
        assert f"line {line}: " in message
    for word in words:
        assert word in message


def test_the_version_moves_with_any_threshold_or_weight_and_only_then(tmp_path: Path) -> None:
    default = RulesConfig().version
    assert default.startswith("r-")
    assert len(default) == 14
    same = load_rules_config(write(tmp_path, "[rules.tax_arrears]\nmin_arrears_cny = 100000\n"))
    assert same.version == default
    weight = load_rules_config(write(tmp_path, "[grading]\nabnormal_listing = 21\n"))
    cutoff = load_rules_config(write(tmp_path, "[grading.cutoffs]\nb = 41\n"))
    threshold = load_rules_config(write(tmp_path, "[rules.tax_arrears]\nmin_arrears_cny = 90000\n"))
    off = load_rules_config(write(tmp_path, "[rules.tax_arrears]\nenabled = false\n"))
    versions = {default, weight.version, cutoff.version, threshold.version, off.version}
    assert len(versions) == 5


def test_a_live_override_keeps_the_file_weights_and_moves_the_version(tmp_path: Path) -> None:
    base = load_rules_config(write(tmp_path, "[grading]\nabnormal_listing = 21\n"))
    live = effective(base, Overrides(rules={"tax_arrears": {"min_arrears_cny": 90_000.0}}))
    assert live.grading == base.grading
    assert live.version != base.version


async def test_the_pipeline_grades_with_the_file_weights_and_records_the_version(
    tmp_path: Path, decoder: Decoder, factory: EventFactory
) -> None:
    """Arrears of 100,000 CNY or more weigh 20 by default and 40 with this file, and the
    cut-off of D moves down to 50: the same facts grade differently, and each stored grade
    names the rules it was computed under."""
    config = load_rules_config(
        write(
            tmp_path,
            "[grading]\narrears_tiers = [[100000, 40.0], [1, 10.0]]\n\n[grading.cutoffs]\nc = 50\n",
        )
    )
    uscc = factory.uscc()
    events = [
        factory.registered(uscc, time=T0),
        factory.tax_arrears(uscc, 150_000.0, time=T0 + timedelta(days=3)),
    ]
    results = {}
    for name, cfg in (("default", RulesConfig()), ("file", config)):
        grades = MemoryGradeStore()
        feeder = Feeder(processor(decoder, engine=RuleEngine.from_config(cfg), grades=grades))
        for event in events:
            await feeder.feed(event)
        results[name] = grades.now[uscc]
    assert results["default"].rules_version == RulesConfig().version
    assert results["file"].rules_version == config.version
    assert results["file"].score - results["default"].score == 20.0
    assert results["file"].grade == "D"
    assert results["default"].grade != "D"
