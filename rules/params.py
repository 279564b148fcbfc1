"""Every rule's thresholds: one frozen model per rule, each field with its type, its range
(:mod:`rules.bounds`) and its default, written once.

A rule takes its model (``LitigationSurge(LitigationSurgeParams(min_cases=4))``, or the
defaults with ``LitigationSurge()``) and reads ``self.params.min_cases``. The rules file
(:mod:`rules.config`), the live overrides (:mod:`rules.live`), the API's listing and the
shadow candidates all go through these models: a key the model does not have, a value of
the wrong type or outside its range is refused. A field's order is the order the API lists
it in; the defaults make the rules version (``RulesConfig().version``).

>>> LitigationSurgeParams().min_cases
3
>>> from pydantic import ValidationError
>>> try:
...     TaxArrearsParams(min_arrears_cny=500.0)
... except ValidationError as exc:
...     print(exc.errors()[0]["ctx"]["error"])
must be between 1000 and 10000000000
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict

from rules.bounds import DAYS, GRADES, OneOf, Span

Days = Annotated[int, DAYS]


class RuleParams(BaseModel):
    """A rule's thresholds: strict (``3.5`` is no count, ``true`` no number), frozen, and
    without keys of its own choosing. A rule without thresholds takes this model itself."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    def table(self) -> dict[str, Any]:
        """The thresholds by key, in the model's order (arrays as tuples)."""
        return self.model_dump()

    def as_json(self) -> dict[str, Any]:
        """The same, as JSON values (arrays as lists): what the API shows and stores."""
        return self.model_dump(mode="json")


class SameAddressClusterParams(RuleParams):
    min_enterprises: Annotated[int, Span(2, 10_000)] = 5
    min_recent: Annotated[int, Span(1, 10_000)] = 3
    recent_days: Days = 180


class FrequentShareholderChangeParams(RuleParams):
    min_changes: Annotated[int, Span(2, 1000)] = 3
    window_days: Days = 90


class PersonManyCompaniesParams(RuleParams):
    min_enterprises: Annotated[int, Span(2, 10_000)] = 5


class DishonestOfficerParams(RuleParams):
    """No thresholds: any listing or criminal case of a person of the enterprise fires."""


class AbnormalOfficerAgeParams(RuleParams):
    min_age: Annotated[int, Span(0, 30)] = 18  # younger than this is abnormal
    max_age: Annotated[int, Span(50, 120)] = 75  # this age or older is abnormal


class UnreachableContactParams(RuleParams):
    min_failures: Annotated[int, Span(1, 100)] = 2
    window_days: Days = 180


class ShellCompanyParams(RuleParams):
    max_age_days: Days = 365
    max_capital_paid: Annotated[float, Span(0, 1e9)] = 0.0
    min_indicators: Annotated[int, Span(1, 4)] = 2


ROLES = OneOf(frozenset({"defendant", "plaintiff", "third_party", "executed_person"}))


class LitigationSurgeParams(RuleParams):
    min_cases: Annotated[int, Span(2, 10_000)] = 3
    window_days: Days = 30
    roles: Annotated[tuple[str, ...], ROLES] = ("defendant", "executed_person")


class TaxArrearsParams(RuleParams):
    min_arrears_cny: Annotated[float, Span(1_000, 1e10)] = 100_000.0
    ratings: Annotated[tuple[str, ...], OneOf(frozenset({"A", "B", "M", "C", "D"}))] = ("D",)


class GradeDowngradeParams(RuleParams):
    grades: Annotated[tuple[str, ...], GRADES] = ("C", "D")


class MultiDepartmentAttentionParams(RuleParams):
    min_departments: Annotated[int, Span(2, 64)] = 2
    window_days: Days = 30


class EarlyWarningParams(RuleParams):
    min_probability: Annotated[float, Span(0.05, 1.0)] = 0.8
    min_learned: Annotated[int, Span(10, 10_000_000)] = 100  # labels before it may warn
    top_factors: Annotated[int, Span(1, 10)] = 3
