"""``enforcement.uploads``: what officers of any department record in the field."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictBool

from streams.schemas.common import MAX_ATTACHMENTS, Data, Money, Prose, Text, Uri


class InspectionRecorded(Data):
    inspection_id: Text
    department: Text
    inspector_id: Text
    kind: Literal["routine", "random", "complaint", "special_campaign"]
    found_at_address: StrictBool
    violation_found: StrictBool | None
    notes: Prose = ""
    attachments: list[Uri] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class PenaltyImposed(Data):
    decision_no: Text
    department: Text
    amount: Money
    category: Text
    legal_basis: Prose = ""


class ContactFailed(Data):
    department: Text
    channel: Literal["phone", "address", "mail"]


MODELS: dict[str, type[BaseModel]] = {
    "inspection.recorded": InspectionRecorded,
    "penalty.imposed": PenaltyImposed,
    "contact.failed": ContactFailed,
}
