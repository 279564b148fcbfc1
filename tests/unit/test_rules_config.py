"""The rules file loads strictly: every mistake names the file, the line and the key; what
loads becomes the rules the worker runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import Settings
from rules.bounds import OneOf, Span
from rules.config import (
    DEFAULT_PARAMS,
    RulesConfig,
    build_rules,
    load_rules_config,
    render,
    rules_from_settings,
)
from rules.early_warning import EarlyWarning
from rules.engine import default_rules
from rules.frequent_shareholder_change import FrequentShareholderChange
from rules.registry import RULE_CLASSES, RULE_IDS
from rules.shell_company import ShellCompany
from rules.tax_arrears import TaxArrears

from .rules_file_kit import refusal, write

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "rules.example.toml"


def test_the_example_file_lists_every_rule_with_its_defaults() -> None:
    config = load_rules_config(EXAMPLE)
    assert config.thresholds == DEFAULT_PARAMS
    assert not config.disabled
    text = EXAMPLE.read_text(encoding="utf-8")
    assert all(f"[rules.{rule_id}]" in text for rule_id in RULE_IDS)


def test_an_empty_file_is_the_defaults(tmp_path: Path) -> None:
    config = load_rules_config(write(tmp_path, "# nothing to change\n"))
    assert config.thresholds == DEFAULT_PARAMS
    assert [type(r) for r in build_rules(config)] == list(RULE_CLASSES)


def test_thresholds_reach_the_rules(tmp_path: Path) -> None:
    config = load_rules_config(
        write(
            tmp_path,
            "[rules.frequent_shareholder_change]\nmin_changes = 4\n\n"
            "[rules.tax_arrears]\nmin_arrears_cny = 50000  # an integer is a number\n"
            'ratings = ["C", "D"]\n',
        )
    )
    rules = {r.rule_id: r for r in build_rules(config)}
    changes = rules["frequent_shareholder_change"]
    assert isinstance(changes, FrequentShareholderChange)
    assert (changes.params.min_changes, changes.params.window_days) == (4, 90)
    tax = rules["tax_arrears"]
    assert isinstance(tax, TaxArrears)
    assert (tax.params.min_arrears_cny, tax.params.ratings) == (50_000.0, ("C", "D"))
    assert isinstance(tax.params.min_arrears_cny, float)


def test_shell_company_uses_the_configured_thresholds_of_its_peers(tmp_path: Path) -> None:
    config = load_rules_config(
        write(tmp_path, "[rules.frequent_shareholder_change]\nmin_changes = 2\n")
    )
    [shell] = [r for r in build_rules(config) if isinstance(r, ShellCompany)]
    assert shell.peers.changes.min_changes == 2
    assert shell.peers.contact == DEFAULT_PARAMS["unreachable_contact"]


def test_a_rule_can_be_turned_off(tmp_path: Path) -> None:
    config = load_rules_config(
        write(tmp_path, "[rules.multi_department_attention]\nenabled = false\n")
    )
    ids = [r.rule_id for r in build_rules(config)]
    assert "multi_department_attention" not in ids
    assert len(ids) == len(RULE_CLASSES) - 1


def test_the_pending_rules_are_already_configurable(tmp_path: Path) -> None:
    config = load_rules_config(
        write(
            tmp_path,
            '[rules.grade_downgrade]\ngrades = ["D"]\n\n'
            "[rules.early_warning]\nmin_probability = 0.9\n",
        )
    )
    assert config.params("grade_downgrade").table() == {"grades": ("D",)}
    assert config.params_of(EarlyWarning).min_probability == 0.9


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("\n[rules.no_such_rule]\nx = 1\n", 2, ["unknown rule id 'no_such_rule'"]),
        (
            "[rules.tax_arrears]\nratings = ['D']\nmin_arrears = 5\n",
            3,
            ["unknown key", "min_arrears", "min_arrears_cny"],
        ),
        ("[rules.litigation_surge]\n\nmin_cases = '3'\n", 3, ["must be an integer, not a string"]),
        ("[rules.litigation_surge]\nmin_cases = 3.5\n", 2, ["min_cases must be an integer"]),
        ("[rules.litigation_surge]\nmin_cases = true\n", 2, ["must be an integer, not a boolean"]),
        ("[rules.litigation_surge]\nroles = 'defendant'\n", 2, ["roles must be an array of"]),
        ("[rules.litigation_surge]\nroles = [1, 2]\n", 2, ["must be an array of strings"]),
        ("[rules.tax_arrears]\nmin_arrears_cny = -1\n", 2, ["must not be negative"]),
        ("[rules.tax_arrears]\nenabled = 'no'\n", 2, ["enabled must be true or false"]),
        ('title = "x"\n\n[rules.tax_arrears]\n', 1, ["unknown top-level key 'title'"]),
        ("[rules]\ntax_arrears = 5\n", 2, ["rules.tax_arrears must be a table"]),
        ("rules.tax_arrears.min_arrears_cny = 'x'\n", 1, ["must be a number"]),
        ("[rules.tax_arrears]\nmin_arrears_cny = \n", 2, ["not valid TOML", "line 2"]),
    ],
)
def test_mistakes_name_the_file_the_line_and_the_key(
    tmp_path: Path, text: str, line: int, words: list[str]
) -> None:
    message = refusal(tmp_path, text)
    assert f"line {line}" in message
    for word in words:
        assert word in message


def test_the_key_is_found_in_its_own_table(tmp_path: Path) -> None:
    """The same key in two tables: the line is the one in the offending table."""
    text = (
        "[rules.frequent_shareholder_change]\nwindow_days = 90\n\n"
        "[rules.unreachable_contact]\nwindow_days = 'long'\n"
    )
    with pytest.raises(ConfigError, match=r"line 5: .*unreachable_contact.*window_days"):
        load_rules_config(write(tmp_path, text))


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the rules file"):
        load_rules_config(tmp_path / "absent.toml")


def test_render_round_trips(tmp_path: Path) -> None:
    tables = {rid: params.table() for rid, params in DEFAULT_PARAMS.items()}
    config = load_rules_config(write(tmp_path, render(tables, disabled=["litigation_surge"])))
    assert config.thresholds == DEFAULT_PARAMS
    assert config.disabled == {"litigation_surge"}


def test_default_rules_is_build_rules_without_a_file() -> None:
    assert [type(r) for r in default_rules()] == [type(r) for r in build_rules(None)]
    assert [type(r) for r in build_rules(RulesConfig())] == list(RULE_CLASSES)


def test_rules_from_settings(tmp_path: Path) -> None:
    assert [type(r) for r in rules_from_settings(Settings())] == list(RULE_CLASSES)
    path = write(tmp_path, "[rules.shell_company]\nenabled = false\n")
    ids = [r.rule_id for r in rules_from_settings(Settings(rules_file=path))]
    assert "shell_company" not in ids
    bad = write(tmp_path, "[rules.shell_company]\nbogus = 1\n")
    with pytest.raises(ConfigError, match="bogus"):
        rules_from_settings(Settings(rules_file=bad))


def test_every_threshold_has_a_range_holding_its_default() -> None:
    for rule_id, defaults in DEFAULT_PARAMS.items():
        model = type(defaults)
        for key, field in model.model_fields.items():
            [bound] = [m for m in field.metadata if isinstance(m, Span | OneOf)]
            assert bound.problem(getattr(defaults, key)) == "", (rule_id, key)
        assert model.model_validate(defaults.table()) == defaults  # the model takes them


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[rules.tax_arrears]\nmin_arrears_cny = 0\n", "between 1000 and"),
        ("[rules.early_warning]\nmin_probability = 1.5\n", "between 0.05 and 1"),
        ("[rules.grade_downgrade]\ngrades = ['C', 'C']\n", "twice"),
        ("[rules.litigation_surge]\nroles = []\n", "at least one"),
    ],
)
def test_a_value_outside_its_range_is_refused_with_the_line(
    tmp_path: Path, text: str, words: str
) -> None:
    with pytest.raises(ConfigError, match=rf"line 2: .*{words}"):
        load_rules_config(write(tmp_path, text))
