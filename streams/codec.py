"""Decoding input messages: bytes off Kafka in, a trusted :class:`Event` out, or an
:class:`~core.errors.InvalidEvent` that says, in words a person can read, why not.

Nothing here ever puts a raw id_number into an error message.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from core.errors import DlqReason, InvalidEvent
from streams.event import Event, Subject
from streams.identifiers import PersonKeyer, validate_id_number, validate_uscc
from streams.schemas import EVENT_TYPES
from streams.schemas.common import Family
from streams.schemas.court import PERSON_ONLY_TYPES, PERSON_SUBJECT_TYPES

DEFAULT_MAX_BYTES = 1024 * 1024
_ENVELOPE_STR_FIELDS = ("id", "source", "type", "subject", "time")
# Caps of the envelope's strings (over one: ``too_large``); ``subject`` is checked as a
# uscc or id_number anyway.
MAX_ENVELOPE_CHARS = {"id": 200, "source": 200, "type": 100, "subject": 64, "time": 64}
# The event times riskwire accepts (else ``bad_date``): a window or an age computed from a
# time outside them is meaningless (a year-9999 time overflowed the window arithmetic).
EARLIEST_TIME = datetime(1949, 10, 1, tzinfo=UTC)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)
_TOO_LONG = frozenset({"string_too_long", "too_long"})


class Decoder:
    """Decodes one topic family's messages. Holds the person keyer and nothing else."""

    def __init__(self, keyer: PersonKeyer, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._keyer = keyer
        self._context = {"keyer": keyer}
        self._max_bytes = max_bytes

    def decode(self, raw: bytes | None, family: Family | None = None) -> Event:
        """Decode and validate one message value; ``family`` is the topic it came from
        (``None`` accepts any type, e.g. for replay from a file)."""
        if raw is None:
            raise InvalidEvent(DlqReason.NOT_JSON, "the message has no value")
        if len(raw) > self._max_bytes:
            raise InvalidEvent(
                DlqReason.TOO_LARGE, f"the message is {len(raw)} bytes, over {self._max_bytes}"
            )
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidEvent(DlqReason.NOT_JSON, f"not JSON: {exc.args[0]}") from None
        if not isinstance(obj, dict):
            raise InvalidEvent(DlqReason.NOT_OBJECT, f"a JSON {type(obj).__name__}, not an object")
        return self.decode_object(obj, family)

    def decode_object(self, obj: dict[str, Any], family: Family | None = None) -> Event:
        _check_envelope(obj)
        etype: str = obj["type"]
        known = EVENT_TYPES.get(etype)
        if known is None:
            raise InvalidEvent(DlqReason.UNKNOWN_TYPE, f"unknown event type {etype[:80]!r}")
        type_family, model = known
        if family is not None and family is not type_family:
            raise InvalidEvent(
                DlqReason.WRONG_TOPIC, f"{etype} belongs on the {type_family} topic, not {family}"
            )
        time = _parse_time(obj["time"])
        subject = self._subject(etype, obj["subject"])
        data = self._data(model, obj.get("data"))
        _check_subject_matches(etype, subject, data)
        return Event(
            id=obj["id"],
            source=obj["source"],
            type=etype,
            time=time,
            subject=subject,
            data=data,
            family=type_family,
        )

    def _subject(self, etype: str, subject: str) -> Subject:
        if subject.startswith("P:"):
            if etype not in PERSON_SUBJECT_TYPES:
                raise InvalidEvent(DlqReason.BAD_SUBJECT, f"{etype} needs an enterprise subject")
            try:
                number = validate_id_number(subject[2:])
            except ValueError as exc:
                raise InvalidEvent(DlqReason.BAD_ID_NUMBER, f"subject: {exc}") from None
            return Subject("person", self._keyer.key(number))
        if etype in PERSON_ONLY_TYPES:
            raise InvalidEvent(DlqReason.BAD_SUBJECT, f"{etype} needs a P: person subject")
        try:
            return Subject("enterprise", validate_uscc(subject))
        except ValueError as exc:
            raise InvalidEvent(DlqReason.BAD_USCC, f"subject: {exc}") from None

    def _data(self, model: type[BaseModel], data: Any) -> BaseModel:
        if not isinstance(data, dict):
            raise InvalidEvent(DlqReason.BAD_FIELD, "'data' must be a JSON object")
        try:
            return model.model_validate(data, context=self._context)
        except ValidationError as exc:
            raise _invalid_from(exc) from None


def _check_envelope(obj: dict[str, Any]) -> None:
    if obj.get("specversion") != "1.0":
        raise InvalidEvent(DlqReason.BAD_ENVELOPE, "'specversion' must be \"1.0\"")
    for name in _ENVELOPE_STR_FIELDS:
        value = obj.get(name)
        if not isinstance(value, str) or not value:
            raise InvalidEvent(DlqReason.BAD_ENVELOPE, f"'{name}' must be a non-empty string")
        if len(value) > MAX_ENVELOPE_CHARS[name]:
            raise InvalidEvent(
                DlqReason.TOO_LARGE,
                f"'{name}' has {len(value)} characters, over {MAX_ENVELOPE_CHARS[name]}",
            )
    content_type = obj.get("datacontenttype")
    if content_type is not None and content_type != "application/json":
        raise InvalidEvent(DlqReason.BAD_ENVELOPE, "'datacontenttype' must be application/json")


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidEvent(DlqReason.BAD_DATE, "'time' is not an RFC 3339 timestamp") from None
    if parsed.tzinfo is None:
        raise InvalidEvent(DlqReason.BAD_DATE, "'time' has no UTC offset (RFC 3339 needs one)")
    if not EARLIEST_TIME <= parsed < LATEST_TIME:
        raise InvalidEvent(
            DlqReason.BAD_DATE,
            f"'time' is outside {EARLIEST_TIME.date()} .. {LATEST_TIME.date()} (exclusive)",
        )
    return parsed


def _check_subject_matches(etype: str, subject: Subject, data: BaseModel) -> None:
    """Where ``data`` names the subject again, the two must agree."""
    # Looked up in the model's fields, not with getattr(): a miss on a pydantic model
    # raises inside pydantic, which costs more than the rest of this check.
    fields = data.__dict__
    uscc = fields.get("uscc")
    if subject.kind == "enterprise" and uscc is not None and uscc != subject.id:
        raise InvalidEvent(DlqReason.BAD_SUBJECT, f"{etype}: data.uscc differs from the subject")
    person = fields.get("person")
    if subject.kind == "person" and person is not None and person.key != subject.id:
        raise InvalidEvent(DlqReason.BAD_SUBJECT, f"{etype}: data.person differs from the subject")
    if subject.kind == "person" and fields.get("debtor_type", "person") == "enterprise":
        raise InvalidEvent(
            DlqReason.BAD_SUBJECT, f"{etype}: an enterprise debtor with a P: subject"
        )


def _invalid_from(exc: ValidationError) -> InvalidEvent:
    """Summarise a pydantic error without its input values (they may be personal data)."""
    first = exc.errors(include_url=False, include_input=False, include_context=False)[0]
    where = ".".join(str(part) for part in ("data", *first["loc"]))
    message = str(first["msg"]).removeprefix("Value error, ")
    kind = str(first["type"])
    if "id_number" in message:
        reason = DlqReason.BAD_ID_NUMBER
    elif first["loc"] and first["loc"][-1] == "uscc":
        reason = DlqReason.BAD_USCC
    elif kind in _TOO_LONG:
        reason = DlqReason.TOO_LARGE
    elif kind.startswith(("date_", "datetime_")):
        reason = DlqReason.BAD_DATE
    else:
        reason = DlqReason.BAD_FIELD
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return InvalidEvent(reason, f"{where}: {message}{more}")
