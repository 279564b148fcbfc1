"""The ``[grading]`` table of a rules file: the grade weights and cut-offs, loaded as
strictly as the rule thresholds.

::

    [grading]
    abnormal_listing = 25.0
    arrears_tiers = [[100000, 20.0], [1, 10.0]]   # [at least this amount, points]

    [grading.cutoffs]
    c = 55.0

Its keys are :class:`~rules.grading.weights.GradeWeights`' fields; a key left out keeps
its default, so a file without ``[grading]`` grades exactly as before. An unknown key, a
value of the wrong type (``"25"`` for a number, ``2.5`` for a count of days), a negative
span or cap, a score cut-off outside 0-100, cut-offs that do not rise or tiers that are
not largest first are refused with the key. Points may be negative (contributions take
risk off).

>>> checked_grading({"abnormal_listing": 25, "cutoffs": {"c": 55}}).cutoffs.c
55.0
>>> try:
...     checked_grading({"abnormal_listng": 25})
... except GradingError as exc:
...     print(exc.key)
abnormal_listng
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic import ValidationError

from rules.grading.weights import Cutoffs, GradeWeights

SCORE_MAX: Final = 100.0
# Caps (at least 0); the integer keys count days or months (at least 1).
_CAPS: Final = frozenset(k for k in GradeWeights.model_fields if k.endswith("_max"))


class GradingError(ValueError):
    """A bad ``[grading]`` value; ``key`` is the offending key as written (``cutoffs.c``)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def _known(keys: Any) -> str:
    names = list(keys)
    return ", ".join([*names[:2], "..."]) if len(names) > 3 else ", ".join(names)


def _number(key: str, value: object, default: object) -> int | float:
    if isinstance(default, bool) or isinstance(value, bool):
        raise GradingError(f"[grading] {key} must be a number, not a boolean", key)
    if isinstance(default, int):
        if type(value) is not int:
            raise GradingError(f"[grading] {key} must be an integer (days or months)", key)
        if value < 1:
            raise GradingError(f"[grading] {key} must be at least 1", key)
        return value
    if type(value) not in (int, float):
        raise GradingError(f"[grading] {key} must be a number", key)
    number = float(value)  # type: ignore[arg-type]
    if key in _CAPS and number < 0:
        raise GradingError(f"[grading] {key} must not be negative", key)
    return number


def _tiers(key: str, value: object) -> tuple[tuple[float, float], ...]:
    pairs = value if isinstance(value, list) else None
    if pairs is None or not all(
        isinstance(p, list)
        and len(p) == 2
        and all(type(x) in (int, float) for x in p)
        and p[0] >= 0
        for p in pairs
    ):
        raise GradingError(
            f"[grading] {key} must be an array of [amount, points] pairs (amount ≥ 0)", key
        )
    return tuple((float(a), float(b)) for a, b in pairs)


def _cutoffs(value: object) -> dict[str, float]:
    if not isinstance(value, dict):
        raise GradingError("[grading] cutoffs must be a table (a, b, c)", "cutoffs")
    out: dict[str, float] = {}
    for key, item in value.items():
        if key not in Cutoffs.model_fields:
            raise GradingError(f"unknown key [grading.cutoffs] {key!r} (known: a, b, c)", key)
        if type(item) not in (int, float) or not 0 <= item <= SCORE_MAX:
            raise GradingError(f"[grading.cutoffs] {key} must be a score from 0 to 100", key)
        out[key] = float(item)
    return out


def checked_grading(table: Mapping[str, Any], base: GradeWeights | None = None) -> GradeWeights:
    """``base`` (the defaults) with ``table`` applied; raises :class:`GradingError`."""
    base = base or GradeWeights()
    values: dict[str, Any] = base.model_dump()
    for key, value in table.items():
        if key not in GradeWeights.model_fields:
            raise GradingError(
                f"unknown key [grading] {key!r} (known: {_known(GradeWeights.model_fields)})", key
            )
        default = getattr(base, key)
        if key == "cutoffs":
            values[key] = {**values[key], **_cutoffs(value)}
        elif isinstance(default, tuple):
            values[key] = _tiers(key, value)
        else:
            values[key] = _number(key, value, default)
    try:
        return GradeWeights.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first.get("ctx", {}).get("error") or first["msg"])
        raise GradingError(f"[grading] {message}", None) from None


def grading_table(weights: GradeWeights) -> dict[str, Any]:
    """``weights`` as a ``[grading]`` table (tiers as arrays): loads back to ``weights``."""
    doc = weights.model_dump()
    return {k: [list(t) for t in v] if isinstance(v, tuple | list) else v for k, v in doc.items()}
