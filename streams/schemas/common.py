"""Shared field types of the event contract: people, codes, money, periods.

A :class:`Person` is parsed from the wire's ``{"id_number", "name", "role"}`` and keeps
only the keyed hash, the masked form and the birth date; the raw id_number never
survives validation. The keyer comes from the validation context::

    Model.model_validate(obj, context={"keyer": PersonKeyer(secret)})
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)

from streams.clip import clip
from streams.identifiers import (
    PersonKeyer,
    birth_date,
    mask_id_number,
    validate_id_number,
    validate_uscc,
)


class Family(enum.StrEnum):
    """The four input topics, by the department family that writes them."""

    REGISTRATION = "registration"
    COURT = "court"
    TAX = "tax"
    ENFORCEMENT = "enforcement"


class Data(BaseModel):
    """Base of every event's ``data``: unknown extra fields are tolerated (producers may
    extend the contract), known ones are strictly typed."""

    model_config = ConfigDict(extra="ignore", frozen=True)


Uscc = Annotated[str, AfterValidator(validate_uscc)]
Money = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Period = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
# Length caps of the contract's text and lists (README, "Size limits on input and output").
# An identifier, a name, an address or a list over its cap is dead-lettered (``too_large``):
# cut, it would name something else. Free text over its cap is kept, cut, with a marker.
MAX_TEXT_CHARS = 4096  # ``Text``: names, addresses, codes, case and decision numbers
MAX_LABEL_CHARS = 200  # ``Label``: a short free-text label (the listing authority)
MAX_PROSE_CHARS = 2000  # ``Prose``: reasons, notes, outcomes, legal bases
MAX_OFFICERS = 200
MAX_SHAREHOLDERS = 1000
MAX_ATTACHMENTS = 50
MAX_URI_CHARS = 2048


def _clipped(limit: int) -> BeforeValidator:
    return BeforeValidator(lambda v: clip(v, limit) if isinstance(v, str) else v)


Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS)]
Label = Annotated[str, _clipped(MAX_LABEL_CHARS)]
Prose = Annotated[str, _clipped(MAX_PROSE_CHARS)]
Uri = Annotated[str, Field(max_length=MAX_URI_CHARS)]
OfficerRole = Literal["legal_rep", "director", "supervisor", "manager", "finance_officer"]


class IdNumberError(ValueError):
    """An id_number that fails the GB 11643 checks (message never holds the number)."""


def keyer_from(info: ValidationInfo) -> PersonKeyer:
    keyer = info.context.get("keyer") if isinstance(info.context, dict) else None
    if not isinstance(keyer, PersonKeyer):
        raise RuntimeError("validation needs context={'keyer': PersonKeyer}")
    return keyer


def key_identity(raw: object, info: ValidationInfo) -> dict[str, Any]:
    """Turn a raw id_number into ``key``, ``masked`` and ``birth_date``."""
    if not isinstance(raw, str):
        raise IdNumberError("id_number must be a string")
    try:
        number = validate_id_number(raw)
    except ValueError as exc:
        raise IdNumberError(f"invalid id_number: {exc}") from None
    return {
        "key": keyer_from(info).key(number),
        "masked": mask_id_number(number),
        "birth_date": birth_date(number),
    }


class Person(BaseModel):
    """A natural person as riskwire keeps one: keyed, masked, never raw."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    key: str
    masked: str
    birth_date: date
    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: OfficerRole | None = None

    @model_validator(mode="before")
    @classmethod
    def _key_the_id_number(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, Person):
            return value
        if not isinstance(value, dict):
            raise ValueError("a person must be an object")
        if "key" in value and "id_number" not in value:
            return value  # already keyed (re-validation of stored data)
        fields = {k: v for k, v in value.items() if k != "id_number"}
        fields.update(key_identity(value.get("id_number"), info))
        return fields


class Officer(Person):
    role: OfficerRole = "director"


class Shareholder(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    holder_type: Literal["person", "enterprise"]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    stake_pct: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
    person: Person | None = None
    uscc: Uscc | None = None

    @model_validator(mode="after")
    def _holder_matches_type(self) -> Shareholder:
        if self.holder_type == "person" and self.person is None:
            raise ValueError("a person shareholder needs 'person'")
        if self.holder_type == "enterprise" and self.uscc is None:
            raise ValueError("an enterprise shareholder needs 'uscc'")
        return self


Officers = Annotated[list[Officer], Field(max_length=MAX_OFFICERS)]
Shareholders = Annotated[list[Shareholder], Field(max_length=MAX_SHAREHOLDERS)]
