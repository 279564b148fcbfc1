"""The messages of ``docs/asyncapi.yaml`` (see :mod:`streams.asyncapi`, which assembles the
document): the models' component schemas, each input event type's CloudEvents envelope in
structured mode, and the outputs with their binary-mode headers."""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from streams.alert import Alert
from streams.cloudevents import CONTENT_TYPE, SPECVERSION, EventType
from streams.messages import AuditAnchorMessage, DeadLetterEntry, GradeMessage, OutputDeadLetter
from streams.schemas import EVENT_TYPES
from streams.schemas.common import Family, OfficerRole

REF: Final = "#/components/schemas/{model}"
KAFKA_BINDING: Final = "0.5.0"


class WirePerson(BaseModel):
    """A natural person as a department sends one (``events.md``). riskwire keeps only a
    keyed hash, a masked form and the birth date."""

    model_config = ConfigDict(title="Person")

    id_number: str = Field(pattern=r"^\d{17}[\dX]$", description="GB 11643-1999")
    name: str = Field(min_length=1, max_length=200)
    role: OfficerRole | None = None


class WireOfficer(WirePerson):
    model_config = ConfigDict(title="Officer")

    role: OfficerRole | None = "director"


def _name(event_type: str) -> str:
    """``enterprise.abnormal_listed`` -> ``EnterpriseAbnormalListed``."""
    return "".join(part.capitalize() for part in event_type.replace("_", ".").split("."))


def component_schemas() -> dict[str, Any]:
    """JSON schemas of every model, under the names ``#/components/schemas`` uses."""
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (model, "validation") for _, model in EVENT_TYPES.values()
    ]
    models += [(WirePerson, "validation"), (WireOfficer, "validation")]
    models += [
        (m, "serialization")
        for m in (Alert, GradeMessage, DeadLetterEntry, OutputDeadLetter, AuditAnchorMessage)
    ]
    keys, top = models_json_schema(models, ref_template=REF)
    defs: dict[str, Any] = top["$defs"]
    # The decoded Person/Officer (keyed, never raw) stand for the wire form on input.
    defs["Person"] = defs.pop(keys[(WirePerson, "validation")]["$ref"].rsplit("/", 1)[1])
    defs["Officer"] = defs.pop(keys[(WireOfficer, "validation")]["$ref"].rsplit("/", 1)[1])
    for event_type, (_, model) in EVENT_TYPES.items():
        name = keys[(model, "validation")]["$ref"].rsplit("/", 1)[1]
        defs[f"{_name(event_type)}Data"] = defs.pop(name)
    renamed = {
        _ref(keys[(model, "validation")]): REF.format(model=f"{_name(t)}Data")
        for t, (_, model) in EVENT_TYPES.items()
    }
    return dict(sorted(_rewrite_refs(defs, renamed).items()))


def _ref(entry: dict[str, Any]) -> str:
    return str(entry["$ref"])


def _rewrite_refs(node: Any, renamed: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            k: (renamed.get(v, v) if k == "$ref" else _rewrite_refs(v, renamed))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(v, renamed) for v in node]
    return node


def _envelope(event_type: str) -> dict[str, Any]:
    """A CloudEvents 1.0 event in structured mode, as ``events.md`` fixes it."""
    text = {"type": "string", "minLength": 1}
    return {
        "type": "object",
        "required": ["specversion", "id", "source", "type", "subject", "time", "data"],
        "properties": {
            "specversion": {"const": SPECVERSION},
            "id": {**text, "description": "unique per source"},
            "source": text,
            "type": {"const": event_type},
            "subject": {**text, "description": "the uscc, or P: + an id_number where allowed"},
            "time": {"type": "string", "format": "date-time", "description": "business time"},
            "datacontenttype": {"const": CONTENT_TYPE},
            "data": {"$ref": REF.format(model=f"{_name(event_type)}Data")},
        },
    }


def binary_headers(kind: EventType) -> dict[str, Any]:
    """The Kafka headers of a message riskwire publishes (CloudEvents binary mode)."""
    text = {"type": "string", "minLength": 1, "maxLength": 512}
    return {
        "type": "object",
        "required": [
            "ce_specversion",
            "ce_id",
            "ce_source",
            "ce_type",
            "ce_time",
            "content-type",
        ],
        "properties": {
            "ce_specversion": {"const": SPECVERSION},
            "ce_id": text,
            "ce_source": text,
            "ce_type": {"const": kind.value},
            "ce_time": {"type": "string", "format": "date-time"},
            "ce_subject": text,
            "content-type": {"const": CONTENT_TYPE},
        },
    }


def input_message(event_type: str, family: Family) -> dict[str, Any]:
    return {
        "name": event_type,
        "title": event_type,
        "contentType": CONTENT_TYPE,
        "payload": _envelope(event_type),
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "the event's subject (optional)"},
                "bindingVersion": KAFKA_BINDING,
            }
        },
        "x-riskwire-family": family.value,
    }


OUTPUTS: Final = {
    # message name: (ce type, payload schema, key, summary)
    "alert": (EventType.ALERT, "Alert", "the alert's fingerprint", "An alert or a change of one"),
    "grade": (
        EventType.GRADE,
        "GradeMessage",
        "the uscc",
        "A change of an enterprise's grade letter",
    ),
    "deadLetter": (
        EventType.DEAD_LETTER,
        "DeadLetterEntry",
        "the original key",
        "An input message that could not be accepted, with the reason",
    ),
    "outputDeadLetter": (
        EventType.DEAD_LETTER,
        "OutputDeadLetter",
        "the refused message's key",
        "An alert or grade change the broker refused for good, with the reason",
    ),
}


def output_message(name: str) -> dict[str, Any]:
    kind, schema, key, summary = OUTPUTS[name]
    return {
        "name": name,
        "summary": summary,
        "contentType": CONTENT_TYPE,
        "headers": binary_headers(kind),
        "payload": {"$ref": REF.format(model=schema)},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": key},
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }


def anchor_message() -> dict[str, Any]:
    """The audit anchor: plain JSON, no CloudEvents headers (api/audit_anchor.py)."""
    return {
        "name": "auditAnchor",
        "summary": "The audit chain's head as it moves (riskwire audit verify checks it)",
        "contentType": CONTENT_TYPE,
        "payload": {"$ref": REF.format(model="AuditAnchorMessage")},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "the chain's Redis stream key"},
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }
