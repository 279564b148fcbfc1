"""Each rule's params model holds its thresholds' types, ranges and defaults once, and
refuses what does not fit, wherever the value comes from (code, the rules file, a live
override)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from core.errors import ConfigError, RiskwireError
from rules.config import DEFAULT_PARAMS, RulesConfig
from rules.litigation_surge import LitigationSurge
from rules.live import checked_table
from rules.params import EarlyWarningParams, LitigationSurgeParams, TaxArrearsParams
from rules.tax_arrears import TaxArrears

# The rules version of the defaults before the thresholds moved into params models: the
# digest of every default, so a default that changed (or changed type) changes it.
DEFAULTS_VERSION = "r-769c80e46652"


def test_the_defaults_are_the_rules_as_they_were() -> None:
    assert RulesConfig().version == DEFAULTS_VERSION


def test_the_api_shows_arrays_as_lists_and_numbers_as_typed() -> None:
    assert DEFAULT_PARAMS["tax_arrears"].as_json() == {
        "min_arrears_cny": 100_000.0,
        "ratings": ["D"],
    }
    assert list(DEFAULT_PARAMS["same_address_cluster"].as_json()) == [
        "min_enterprises",
        "min_recent",
        "recent_days",
    ]


@pytest.mark.parametrize(
    ("model", "values", "words"),
    [
        (LitigationSurgeParams, {"min_cases": 1}, "must be between 2 and 10000"),
        (LitigationSurgeParams, {"window_days": 4000}, "must be between 1 and 3650"),
        (LitigationSurgeParams, {"roles": ()}, "at least one value"),
        (LitigationSurgeParams, {"roles": ("defendant", "defendant")}, "twice"),
        (LitigationSurgeParams, {"roles": ("judge",)}, "may hold only"),
        (LitigationSurgeParams, {"min_cases": "3"}, "valid integer"),
        (LitigationSurgeParams, {"min_cases": 3.0}, "valid integer"),
        (LitigationSurgeParams, {"min_cases": True}, "valid integer"),
        (LitigationSurgeParams, {"roles": ["defendant"]}, "valid tuple"),
        (LitigationSurgeParams, {"min_case": 3}, "Extra inputs"),
        (EarlyWarningParams, {"min_probability": 0.0}, "between 0.05 and 1"),
        (TaxArrearsParams, {"min_arrears_cny": "100000"}, "valid number"),
    ],
)
def test_a_model_refuses_a_value_out_of_range_or_of_the_wrong_type(
    model: type[Any], values: dict[str, Any], words: str
) -> None:
    with pytest.raises(ValidationError, match=words):
        model(**values)


def test_a_model_is_frozen_and_takes_an_integer_for_a_number() -> None:
    params = TaxArrearsParams(min_arrears_cny=50_000)
    assert isinstance(params.min_arrears_cny, float)
    with pytest.raises(ValidationError, match="frozen"):
        params.min_arrears_cny = 1.0  # type: ignore[misc]


def test_a_rule_takes_only_its_own_model() -> None:
    assert LitigationSurge(LitigationSurgeParams(min_cases=4)).params.min_cases == 4
    with pytest.raises(TypeError, match="TaxArrears takes TaxArrearsParams"):
        TaxArrears(LitigationSurgeParams())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ({"min_cases": 1}, "[rules.litigation_surge] min_cases must be between 2 and 10000"),
        ({"min_cases": "3"}, "min_cases must be an integer, not a string"),
        ({"roles": ["judge"]}, "roles may hold only"),
        ({"min_case": 3}, "unknown key '[rules.litigation_surge] min_case'"),
    ],
)
def test_an_invalid_override_is_a_config_error(table: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        checked_table("litigation_surge", table)
    assert isinstance(caught.value, RiskwireError)  # the project's one hierarchy
    assert words in str(caught.value)


def test_a_valid_override_reaches_the_model() -> None:
    assert checked_table("litigation_surge", {"min_cases": 4, "roles": ["plaintiff"]}) == {
        "min_cases": 4,
        "roles": ["plaintiff"],
    }
