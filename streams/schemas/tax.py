"""``tax.events``: tax and social insurance."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from streams.schemas.common import Data, Money, Period, Prose, Text


class TaxPaid(Data):
    period: Period
    amount: Money
    tax_type: Text


class TaxArrears(Data):
    amount: Money
    since: date


class TaxArrearsCleared(Data):
    amount: Money


class TaxPenalty(Data):
    amount: Money
    reason: Prose = ""


class TaxCreditRated(Data):
    year: Annotated[int, Field(ge=1990, le=2100)]
    rating: Literal["A", "B", "M", "C", "D"]


class EmploymentReported(Data):
    period: Period
    insured_employees: Annotated[int, Field(ge=0)]


MODELS: dict[str, type[BaseModel]] = {
    "tax.paid": TaxPaid,
    "tax.arrears": TaxArrears,
    "tax.arrears_cleared": TaxArrearsCleared,
    "tax.penalty": TaxPenalty,
    "tax.credit_rated": TaxCreditRated,
    "employment.reported": EmploymentReported,
}
