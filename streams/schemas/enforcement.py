"""``enforcement.uploads``: what officers of any department record in the field."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictBool

from streams.schemas.common import Data, Money, Text


class InspectionRecorded(Data):
    inspection_id: Text
    department: Text
    inspector_id: Text
    kind: Literal["routine", "random", "complaint", "special_campaign"]
    found_at_address: StrictBool
    violation_found: StrictBool | None
    notes: str = ""
    attachments: list[str] = Field(default_factory=list)


class PenaltyImposed(Data):
    decision_no: Text
    department: Text
    amount: Money
    category: Text
    legal_basis: str = ""


class ContactFailed(Data):
    department: Text
    channel: Literal["phone", "address", "mail"]


MODELS: dict[str, type[BaseModel]] = {
    "inspection.recorded": InspectionRecorded,
    "penalty.imposed": PenaltyImposed,
    "contact.failed": ContactFailed,
}
