"""``registration.changes``: market supervision's registration facts."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationInfo, model_validator

from streams.schemas.common import (
    Data,
    Label,
    Money,
    Officers,
    Person,
    Prose,
    Shareholders,
    Text,
    Uscc,
)


class Registered(Data):
    uscc: Uscc
    name: Text
    registered_on: date
    capital_registered: Money
    capital_paid: Money
    industry_code: Text
    address_registered: Text
    address_business: Text | None = None
    phone: Text | None = None
    legal_rep: Person
    officers: Officers = Field(default_factory=list)
    shareholders: Shareholders = Field(default_factory=list)


ChangedField = Literal[
    "name",
    "legal_rep",
    "officers",
    "shareholders",
    "address_registered",
    "address_business",
    "phone",
    "capital_registered",
    "capital_paid",
    "industry_code",
    "business_scope",
]

# What ``new`` must be for each changed field: the same types as in ``Registered``.
_NEW_VALUE: dict[str, TypeAdapter[Any]] = {
    "legal_rep": TypeAdapter(Person),
    "officers": TypeAdapter(Officers),
    "shareholders": TypeAdapter(Shareholders),
    "capital_registered": TypeAdapter(Money),
    "capital_paid": TypeAdapter(Money),
}
_TEXT_OR_NONE: TypeAdapter[Any] = TypeAdapter(Text | None)


class Changed(Data):
    """``new`` is typed by ``field``. ``old`` is dropped on arrival: it is informational
    and may carry people's raw identities."""

    field: ChangedField
    new: Any

    @model_validator(mode="before")
    @classmethod
    def _type_new_by_field(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, dict) or not isinstance(value.get("field"), str):
            return value
        adapter = _NEW_VALUE.get(value["field"], _TEXT_OR_NONE)
        if "new" not in value:
            raise ValueError("'new' is required")
        return {
            "field": value["field"],
            "new": adapter.validate_python(value["new"], context=info.context),
        }


class Deregistered(Data):
    reason: Text


class AbnormalListed(Data):
    reason_code: Literal[
        "unreachable_address", "annual_report_missing", "false_information", "other"
    ]
    reason: Prose = ""
    authority: Label = ""


class AbnormalRemoved(Data):
    reason: Prose = ""


MODELS: dict[str, type[BaseModel]] = {
    "enterprise.registered": Registered,
    "enterprise.changed": Changed,
    "enterprise.deregistered": Deregistered,
    "enterprise.abnormal_listed": AbnormalListed,
    "enterprise.abnormal_removed": AbnormalRemoved,
}
