"""Typed models of the contract's event data, one module per input topic.

``EVENT_TYPES`` maps every event type of ``events.md`` to its topic family and its data
model; the codec looks types up here and nowhere else.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel

from streams.schemas import court, enforcement, registration, tax
from streams.schemas.common import Family

EVENT_TYPES: Final[dict[str, tuple[Family, type[BaseModel]]]] = {
    **{t: (Family.REGISTRATION, m) for t, m in registration.MODELS.items()},
    **{t: (Family.COURT, m) for t, m in court.MODELS.items()},
    **{t: (Family.TAX, m) for t, m in tax.MODELS.items()},
    **{t: (Family.ENFORCEMENT, m) for t, m in enforcement.MODELS.items()},
}

__all__ = ["EVENT_TYPES", "Family"]
