"""Small helpers for strict TOML rules files: a value checked against its default's type,
the line a key is on (``tomllib`` reports none for valid files), and rendering back.

>>> check_value(3, 90)
('', 3)
>>> check_value(100000, 100000.0)
('', 100000.0)
>>> check_value("90", 90)[0]
'must be an integer, not a string'
>>> line_of('[rules.tax_arrears]\\nmin_arrears_cny = "x"\\n', "tax_arrears", "min_arrears_cny")
2
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_TOML_TYPE = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
_TOML_TYPES = {bool: "booleans", int: "integers", float: "numbers", str: "strings"}


def _kind(value: object) -> str:
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return _TOML_TYPE.get(type(value), type(value).__name__)


def check_value(value: object, default: object) -> tuple[str, Any]:
    """``("", value)`` converted to the default's type, or ``(problem, None)``.

    An integer is accepted for a number (``100000`` for ``100000.0``); an array for a tuple
    when each item has the type of the default's items (strings when it is empty).
    Numbers may not be negative: every threshold is a count, a span or an amount.
    """
    if isinstance(default, tuple | list):
        item = type(default[0]) if default else str
        if not isinstance(value, list) or not all(type(v) is item for v in value):
            return f"must be an array of {_TOML_TYPES.get(item, item.__name__)}", None
        return "", tuple(value)
    expected = type(default)
    if expected is float and type(value) is int:
        value = float(value)
    if type(value) is not expected:
        return f"must be {_TOML_TYPE.get(expected, expected.__name__)}, not {_kind(value)}", None
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        return "must not be negative", None
    return "", value


def line_of(text: str, rule_id: str | None, key: str | None) -> int | None:
    """The 1-based line of ``key`` in the table ``[rules.<rule_id>]`` (or of the rule's
    table when ``key`` is ``None``, or of a top-level ``key`` when ``rule_id`` is None)."""
    lines = text.splitlines()
    start = None
    if rule_id is not None:
        header = re.compile(rf'^\s*\[\s*rules\s*\.\s*"?{re.escape(rule_id)}"?\s*\]')
        start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if key is None:
        return start + 1 if start is not None else _naming(lines, rule_id or "", None)
    if start is not None:
        key_at = re.compile(rf'^\s*"?{re.escape(key)}"?\s*[=.]')
        for i in range(start + 1, len(lines)):
            if lines[i].lstrip().startswith("["):
                break
            if key_at.match(lines[i]):
                return i + 1
    return _naming(lines, key, rule_id) or (start + 1 if start is not None else None)


def _naming(lines: list[str], name: str, near: str | None) -> int | None:
    """The first line that names ``name`` as a key (dotted keys, inline tables), preferring
    one that also names ``near``."""
    named = re.compile(rf'(^|[\s.{{,\["]){re.escape(name)}"?\s*[=.\]]')
    hits = [i for i, line in enumerate(lines) if named.search(line)]
    close = [i for i in hits if near is None or near in lines[i]]
    found = close or hits
    return found[0] + 1 if found else None


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, Iterable):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def render(thresholds: Mapping[str, Mapping[str, Any]], disabled: Iterable[str] = ()) -> str:
    """A rules file that loads back to ``thresholds`` (with ``disabled`` turned off)."""
    off = set(disabled)
    out: list[str] = []
    for rule_id, params in thresholds.items():
        out.append(f"[rules.{rule_id}]")
        if rule_id in off:
            out.append("enabled = false")
        out += [f"{key} = {_toml(value)}" for key, value in params.items()]
        out.append("")
    return "\n".join(out)
