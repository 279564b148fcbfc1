"""The shapes of the grade and dead-letter messages riskwire publishes, as models, so
``docs/asyncapi.yaml`` is generated from them (the alert's shape is
:class:`streams.alert.Alert`). The code that builds these bodies
(``processors.grades.grade_message``, ``processors.dead_letters.dead_letter_value``) is
tested against them, so a change on either side fails a test.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.errors import DlqReason
from streams.grade import Factor, Letter


class GradeMessage(BaseModel):
    """A ``riskwire.grades`` value (key: ``uscc``): one change of an enterprise's grade
    letter (``events.md``: ``{uscc, grade, score, previous_grade, factors, time}``)."""

    model_config = ConfigDict(extra="forbid")

    uscc: Annotated[str, Field(min_length=18, max_length=18)]
    grade: Letter
    score: Annotated[float, Field(ge=0.0, le=100.0)]
    previous_grade: Letter | None = Field(description="null for an enterprise's first grade")
    factors: list[Factor] = Field(description="contributions to the score, largest first")
    time: datetime = Field(description="the business time the grade was computed for")


class DeadLetterEntry(BaseModel):
    """A ``riskwire.dlq`` value (key: the original key): an input message that could not be
    accepted, with the reason. The one place raw input is kept; administrators only."""

    model_config = ConfigDict(extra="forbid")

    topic: str = Field(description="the input topic the message was read from")
    partition: Annotated[int, Field(ge=0)]
    offset: Annotated[int, Field(ge=0)]
    error: str = Field(description="why it was refused, in words a person can read")
    reason: DlqReason = Field(description="the bounded reason code (a metric label)")
    raw: str = Field(
        description="the message value, or its first 64 KiB when raw_truncated: UTF-8 text, "
        "or base64 (see raw_encoding)"
    )
    raw_encoding: Literal["base64"] | None = Field(
        default=None, description="present when the value was not UTF-8"
    )
    raw_bytes: Annotated[int, Field(ge=0)] = Field(description="the full value's size in bytes")
    raw_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] = Field(
        description="SHA-256 of the full value, hex"
    )
    raw_truncated: bool = Field(description="whether raw holds only the start of the value")


class OutputDeadLetter(BaseModel):
    """A ``riskwire.dlq.outputs`` value (key: the refused message's key): an alert or grade
    change the broker refused for good, with the reason and a bounded excerpt. The full
    alert stays in Redis and the API."""

    model_config = ConfigDict(extra="forbid")

    topic: str = Field(description="the output topic the message was for")
    partition: None = None
    offset: None = None
    error: str = Field(description="the broker's or producer's refusal")
    reason: DlqReason = Field(description="too_large or broker_refused")
    stream: str = Field(description="the Redis feed the entry came from")
    entry_id: str = Field(description="the feed entry's id")
    raw: str = Field(description="the message value's first 64 KiB (UTF-8 text, or base64)")
    raw_encoding: Literal["base64"] | None = None
    raw_bytes: Annotated[int, Field(ge=0)] = Field(description="the full value's size in bytes")
    raw_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    raw_truncated: bool


class AuditAnchorMessage(BaseModel):
    """The audit chain's head, on ``riskwire.audit.anchor`` (keyed by ``stream``,
    compacted): what ``riskwire audit verify`` checks the chain in Redis against."""

    model_config = ConfigDict(extra="forbid")

    stream: str = Field(description="the Redis stream key of the chain")
    count: int = Field(ge=1, description="entries in the chain when published")
    hash: str = Field(description="the HMAC-SHA256 chain hash of entry `count` (hex)")
