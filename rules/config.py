"""The rules file: which rules run, with which thresholds, loaded strictly.

::

    [rules.frequent_shareholder_change]
    min_changes = 4
    window_days = 60

    [rules.multi_department_attention]
    enabled = false

    [grading]
    abnormal_listing = 25.0

    [grading.cutoffs]
    c = 55.0

One table ``[rules.<rule_id>]`` per rule; its keys are the fields of the rule's params
model (:mod:`rules.params`), plus ``enabled``; a rule not named keeps its defaults.
``[grading]`` holds the grade weights and cut-offs (:mod:`rules.grading.table`); left out,
grades are computed as before. An unknown rule id, an unknown key or a value of the wrong
type is a :class:`~core.errors.ConfigError` naming the file, the line and the key
(Alertmanager's ``UnmarshalStrict``), and so is a value outside the key's range
(:mod:`rules.bounds`): every value is checked by the rule's params model.
``deploy/rules.example.toml`` lists every rule and grade weight with its default.

Every config has a :attr:`RulesConfig.version`: a digest of what it runs (thresholds,
rules turned off, grade weights), the same in every process that runs the same rules, so
a grade can name the rules it was computed under.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import orjson
from pydantic import ValidationError

from core.errors import ConfigError
from rules.base import Rule
from rules.grading.table import GradingError, checked_grading, grading_table
from rules.grading.weights import DEFAULT_WEIGHTS, GradeWeights
from rules.params import RuleParams
from rules.registry import DEFAULT_PARAMS, RULE_CLASSES
from rules.strict_toml import check_value, line_of, render

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = [
    "DEFAULT_PARAMS",
    "RulesConfig",
    "apply_tables",
    "build_rules",
    "load_rules_config",
    "loads_rules_config",
    "render",
    "rules_from_settings",
]

P = TypeVar("P", bound=RuleParams)


@dataclass(frozen=True, slots=True)
class RulesConfig:
    """Every known rule's thresholds (its params model: defaults where the file is
    silent), which rules the file turned off, and the grade weights and cut-offs."""

    thresholds: Mapping[str, RuleParams] = field(default_factory=lambda: DEFAULT_PARAMS)
    disabled: frozenset[str] = frozenset()
    path: Path | None = None
    grading: GradeWeights = DEFAULT_WEIGHTS

    @property
    def version(self) -> str:
        """``r-`` and 12 hex digits of a digest of the thresholds, the rules turned off and
        the grading: equal for equal rules, wherever they were loaded from.

        >>> RulesConfig().version == RulesConfig(path=Path("elsewhere.toml")).version
        True
        """
        body = orjson.dumps(
            {
                "thresholds": {rid: params.table() for rid, params in self.thresholds.items()},
                "disabled": sorted(self.disabled),
                "grading": grading_table(self.grading),
            },
            option=orjson.OPT_SORT_KEYS,
        )
        return "r-" + hashlib.blake2b(body, digest_size=6).hexdigest()

    def params(self, rule_id: str) -> RuleParams:
        return self.thresholds[rule_id]

    def params_of(self, rule: type[Rule[P]]) -> P:
        """``rule``'s thresholds, as its own params model."""
        params = self.thresholds[rule.rule_id]
        if not isinstance(params, rule.params_model):
            raise TypeError(f"{rule.rule_id}: {params!r} is not {rule.params_model.__name__}")
        return cast(P, params)

    def enabled(self, rule_id: str) -> bool:
        return rule_id not in self.disabled


def load_rules_config(path: Path | str) -> RulesConfig:
    """Read and check a rules file; raises :class:`ConfigError` naming file, line and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the rules file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return loads_rules_config(text, str(path), path=path)[0]


def loads_rules_config(
    text: str, origin: str, *, path: Path | None = None, as_json: bool = False
) -> tuple[RulesConfig, dict[str, Any]]:
    """A rules file's text (TOML, or the same document as JSON) checked exactly as the
    file is: the config and the ``{rule_id: table}`` it set. ``origin`` names it in errors.

    >>> loads_rules_config('{"rules": {"tax_arrears": {"min_arrears_cny": 5000}}}', "x",
    ...                    as_json=True)[1]
    {'tax_arrears': {'min_arrears_cny': 5000}}
    """
    try:
        doc = orjson.loads(text) if as_json else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, orjson.JSONDecodeError) as exc:
        kind = "JSON" if as_json else "TOML"
        raise ConfigError(f"{origin}: not valid {kind}: {exc}") from None

    def fail(message: str, rule_id: str | None = None, key: str | None = None) -> ConfigError:
        line = None if as_json else line_of(text, rule_id, key)
        return ConfigError(f"{origin}: {f'line {line}: ' if line else ''}{message}")

    if not isinstance(doc, dict):
        raise fail("must be a table of [rules.<rule_id>] tables")
    for top in doc:
        if top not in ("rules", "grading"):
            raise fail(
                f"unknown top-level key {top!r}: only [rules.<rule_id>] tables and [grading]",
                key=top,
            )
    tables = doc.get("rules", {})
    if not isinstance(tables, dict):
        raise fail("'rules' must be a table of [rules.<rule_id>] tables", key="rules")
    base = RulesConfig()
    if "grading" in doc:
        base = RulesConfig(grading=_grading(doc["grading"], text, origin))
    return apply_tables(base, tables, fail, path=path), tables


def _grading(table: object, text: str, origin: str) -> GradeWeights:
    if not isinstance(table, dict):
        raise ConfigError(f"{origin}: 'grading' must be a table ([grading])")
    try:
        return checked_grading(table)
    except GradingError as exc:
        line = line_of(text, None, exc.key) if exc.key else None
        raise ConfigError(f"{origin}: {f'line {line}: ' if line else ''}{exc}") from None


Fail = Callable[..., ConfigError]


def apply_tables(
    base: RulesConfig, tables: Mapping[str, Any], fail: Fail, *, path: Path | None = None
) -> RulesConfig:
    """``base`` with ``{rule_id: {key: value, "enabled": bool}}`` applied, each table checked
    as strictly as a rules file's; ``fail(message, rule_id, key)`` makes the error to raise.
    Used for the file and for the deployment's live overrides (:mod:`rules.live`)."""
    thresholds = dict(base.thresholds)
    disabled: set[str] = set(base.disabled)
    for rule_id, table in tables.items():
        if rule_id not in DEFAULT_PARAMS:
            known = ", ".join(DEFAULT_PARAMS)
            raise fail(f"unknown rule id {rule_id!r} (known: {known})", rule_id)
        if not isinstance(table, dict):
            raise fail(f"rules.{rule_id} must be a table", rule_id)
        for key, value in table.items():
            if key != "enabled":
                thresholds[rule_id] = _with(thresholds[rule_id], rule_id, key, value, fail)
            elif not isinstance(value, bool):
                raise fail(f"[rules.{rule_id}] {key} must be true or false", rule_id, key)
            elif value:
                disabled.discard(rule_id)
            else:
                disabled.add(rule_id)
    return RulesConfig(
        thresholds=thresholds,
        disabled=frozenset(disabled),
        path=path or base.path,
        grading=base.grading,
    )


def _with(params: RuleParams, rule_id: str, key: str, value: object, fail: Fail) -> RuleParams:
    """``params`` with ``key`` set to ``value`` (a TOML or JSON value), checked by the
    rule's params model: an unknown key, a wrong type or a value out of range fails."""
    where = f"[rules.{rule_id}] {key}"
    fields = type(params).model_fields
    if key not in fields:
        known = ", ".join([*fields, "enabled"])
        raise fail(f"unknown key {where!r} (known: {known})", rule_id, key)
    problem, checked = check_value(value, fields[key].default)
    if not problem:
        try:
            return type(params).model_validate({**params.table(), key: checked})
        except ValidationError as exc:
            [error] = exc.errors()
            problem = str(error.get("ctx", {}).get("error", error["msg"]))
    raise fail(f"{where} {problem}", rule_id, key)


def build_rules(config: RulesConfig | None = None) -> list[Rule]:
    """One instance of every registered rule the config leaves enabled, with its thresholds
    (a rule that reuses other rules' predicates also takes theirs: ``Rule.configured``)."""
    config = config or RulesConfig()
    return [cls.configured(config) for cls in RULE_CLASSES if config.enabled(cls.rule_id)]


def rules_from_settings(settings: Settings) -> list[Rule]:
    """The rules a worker runs: those of ``settings.rules_file`` when set, else the defaults."""
    return build_rules(load_rules_config(settings.rules_file) if settings.rules_file else None)
