"""``docs/asyncapi.yaml``: an AsyncAPI 3.0 document of every topic riskwire reads and
writes, generated from the code's own models so it cannot drift from them.

- Input topics: one message per event type of ``streams.schemas.EVENT_TYPES``, each a
  CloudEvents 1.0 event in structured mode whose ``data`` is that type's model. A person
  is shown in its wire form (``id_number``, ``name``, ``role``), which is what the
  models accept; they keep only a keyed hash.
- Output topics: the alert (:class:`streams.alert.Alert`), the grade change and the dead
  letter (:mod:`streams.messages`), each with its CloudEvents binary-mode headers
  (:mod:`streams.cloudevents`).

``python -m streams.asyncapi`` rewrites the file; ``--check`` exits 1 when it is stale.
A test does the same, and checks the document against the AsyncAPI 3.0.0 JSON schema.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from core.settings import Settings
from streams.alert import Alert
from streams.cloudevents import CONTENT_TYPE, SPECVERSION, EventType
from streams.kafka import input_topic
from streams.messages import AuditAnchorMessage, DeadLetterEntry, GradeMessage, OutputDeadLetter
from streams.schemas import EVENT_TYPES
from streams.schemas.common import Family, OfficerRole

DOC_PATH: Final = Path(__file__).resolve().parents[1] / "docs" / "asyncapi.yaml"
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


def _topics(settings: Settings) -> dict[Family, str]:
    """Each family's configured input topic."""
    one_type = {family: t for t, (family, _) in EVENT_TYPES.items()}
    return {family: input_topic(settings, one_type[family]) for family in Family}


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


def _input_message(event_type: str, family: Family) -> dict[str, Any]:
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


def _output_message(name: str) -> dict[str, Any]:
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


def _anchor_message() -> dict[str, Any]:
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


def _channel(
    address: str, messages: list[str], settings: Settings, **config: list[str]
) -> dict[str, Any]:
    binding: dict[str, Any] = {
        "partitions": settings.partitions,
        "replicas": settings.replication_factor,
        "bindingVersion": KAFKA_BINDING,
    }
    if config:
        binding["topicConfiguration"] = config
    return {
        "address": address,
        "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in messages},
        "bindings": {"kafka": binding},
    }


def _channels(settings: Settings) -> dict[str, Any]:
    by_family: dict[Family, list[str]] = {}
    for event_type, (family, _) in EVENT_TYPES.items():
        by_family.setdefault(family, []).append(event_type)
    channels = {
        family.value: _channel(topic, by_family[family], settings)
        for family, topic in _topics(settings).items()
    }
    channels["alerts"] = _channel(settings.topic_alerts, ["alert"], settings)
    department = _channel(settings.topic_alerts + ".{department}", ["alert"], settings)
    department["parameters"] = {
        "department": {
            "enum": list(settings.departments),
            "description": "a department (RISKWIRE_DEPARTMENTS): the alerts routed to it",
        }
    }
    channels["departmentAlerts"] = department
    channels["grades"] = _channel(
        settings.topic_grades, ["grade"], settings, **{"cleanup.policy": ["compact"]}
    )
    channels["deadLetters"] = _channel(settings.topic_dlq, ["deadLetter"], settings)
    channels["alertArchive"] = _channel(
        settings.topic_alert_archive, ["alert"], settings, **{"cleanup.policy": ["compact"]}
    )
    channels["outputDeadLetters"] = _channel(
        settings.topic_dlq_outputs, ["outputDeadLetter"], settings
    )
    channels["auditAnchor"] = _channel(
        settings.topic_audit_anchor, ["auditAnchor"], settings, **{"cleanup.policy": ["compact"]}
    )
    return channels


def _operation(action: str, channel: str, summary: str) -> dict[str, Any]:
    messages = [{"$ref": f"#/channels/{channel}/messages/{m}"} for m in _messages_of(channel)]
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel}"},
        "summary": summary,
        "messages": messages,
    }


def _messages_of(channel: str) -> list[str]:
    families = {f.value for f in Family}
    if channel in families:
        return [t for t, (f, _) in EVENT_TYPES.items() if f.value == channel]
    known = {
        "grades": ["grade"],
        "deadLetters": ["deadLetter"],
        "outputDeadLetters": ["outputDeadLetter"],
        "auditAnchor": ["auditAnchor"],
    }
    return known.get(channel, ["alert"])


def _operations() -> dict[str, Any]:
    ops = {
        f"consume{f.value.capitalize()}": _operation(
            "receive", f.value, f"The workers apply every {f.value} event (exactly once)"
        )
        for f in Family
    }
    ops["uploadEnforcement"] = _operation(
        "send", Family.ENFORCEMENT.value, "POST /api/v1/enforcement/uploads writes the event"
    )
    ops["publishAlerts"] = _operation("send", "alerts", "Every alert change (alert relay)")
    ops["publishDepartmentAlerts"] = _operation(
        "send", "departmentAlerts", "The changes routed to a department, after its subscriptions"
    )
    ops["publishGrades"] = _operation("send", "grades", "Every change of a grade letter")
    ops["publishDeadLetters"] = _operation("send", "deadLetters", "Every refused input message")
    ops["publishAlertArchive"] = _operation(
        "send", "alertArchive", "Every alert change again, keyed by alert id (the archive)"
    )
    ops["publishOutputDeadLetters"] = _operation(
        "send", "outputDeadLetters", "Every alert or grade change the broker refused (relays)"
    )
    ops["publishAuditAnchor"] = _operation(
        "send", "auditAnchor", "The audit chain's head, by each API process, as it moves"
    )
    return ops


def document(settings: Settings | None = None) -> dict[str, Any]:
    """The AsyncAPI document for ``settings``' topics (when ``None``: a production
    deployment's defaults, whatever this process's environment says)."""
    settings = settings or Settings.model_construct(env="production")
    input_messages = {t: _input_message(t, family) for t, (family, _) in EVENT_TYPES.items()}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "riskwire",
            "version": "1.0.0",
            "description": (
                "Every Kafka topic riskwire reads and writes. Generated by "
                "`python -m streams.asyncapi` from the code's models; do not edit by hand."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "local": {
                "host": settings.kafka_bootstrap,
                "protocol": "kafka",
                "description": "deploy/stack.sh (one node)",
            }
        },
        "channels": _channels(settings),
        "operations": _operations(),
        "components": {
            "schemas": component_schemas(),
            "messages": {
                **input_messages,
                **{n: _output_message(n) for n in OUTPUTS},
                "auditAnchor": _anchor_message(),
            },
        },
    }


def message_schema(doc: dict[str, Any], message: str, part: str = "payload") -> dict[str, Any]:
    """A standalone JSON schema (draft 7) of one message's ``payload`` or ``headers``: the
    document's components come along, so its references resolve.

    >>> schema = message_schema(document(), "grade", "headers")
    >>> schema["properties"]["ce_type"]
    {'const': 'riskwire.grade.v1'}
    """
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        **doc["components"]["messages"][message][part],
        "components": doc["components"],
    }


class _PlainDumper(yaml.SafeDumper):
    """Writes a schema used twice out twice, instead of as a YAML anchor and alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(doc: dict[str, Any]) -> str:
    header = "# Generated by `python -m streams.asyncapi`: do not edit by hand.\n"
    text = yaml.dump(doc, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=100)
    return header + text


def main(argv: list[str]) -> int:
    text = render(document())
    if "--check" in argv:
        current = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else ""
        if current != text:
            print(f"{DOC_PATH} is stale: run python -m streams.asyncapi", file=sys.stderr)
            return 1
        return 0
    DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOC_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {DOC_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
