"""The range a rule threshold may take, as metadata of its field in the rule's params model
(:mod:`rules.params`): the model refuses a value outside it, and the rules file and the live
overrides of ``PUT /api/v1/rules/{rule_id}`` report the same words.

A rule applies to every department, so a threshold outside its range would silence the
rule for all of them (``min_enterprises = 1000000``) or flood every board
(``min_probability = 0``). A number has an inclusive ``[low, high]``; an array has the
values it may hold, at least one of them and none twice.

>>> Span(1_000, 1e10).problem(50_000.0)
''
>>> Span(0.05, 1.0).problem(1.5)
'must be between 0.05 and 1'
>>> OneOf(frozenset("ABCDM")).problem(("D", "Z"))
'may hold only A, B, C, D, M'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from pydantic import GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema


class _Bound:
    """A range that pydantic enforces after the field's type (``Annotated[int, Span(...)]``)."""

    __slots__ = ()

    def problem(self, value: object) -> str:
        """``""`` when ``value`` (already of the field's type) is within the range, else
        what is wrong, in the words the rules file reports."""
        raise NotImplementedError

    def _check(self, value: Any) -> Any:
        problem = self.problem(value)
        if problem:
            raise ValueError(problem)
        return value

    def __get_pydantic_core_schema__(
        self, source: type[Any], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))


@dataclass(frozen=True, slots=True)
class Span(_Bound):
    """An inclusive range for a number."""

    low: float
    high: float

    def problem(self, value: object) -> str:
        if isinstance(value, int | float) and self.low <= value <= self.high:
            return ""
        return f"must be between {_num(self.low)} and {_num(self.high)}"


@dataclass(frozen=True, slots=True)
class OneOf(_Bound):
    """The values an array may hold (non-empty, no repeats)."""

    allowed: frozenset[str]

    def problem(self, value: object) -> str:
        items = list(value) if isinstance(value, list | tuple) else []
        if not items:
            return "must hold at least one value"
        if len(set(items)) != len(items):
            return "must not hold a value twice"
        if not set(items) <= self.allowed:
            return f"may hold only {', '.join(sorted(self.allowed))}"
        return ""


Bound = Span | OneOf

DAYS: Final = Span(1, 3650)  # a window of one day to ten years
GRADES: Final = OneOf(frozenset("ABCD"))


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and value >= 1 else str(value)
