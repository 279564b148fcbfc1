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

from core.settings import Settings
from streams.asyncapi_messages import (
    KAFKA_BINDING,
    OUTPUTS,
    anchor_message,
    component_schemas,
    input_message,
    output_message,
)
from streams.cloudevents import CONTENT_TYPE
from streams.kafka import input_topic
from streams.schemas import EVENT_TYPES
from streams.schemas.common import Family

DOC_PATH: Final = Path(__file__).resolve().parents[1] / "docs" / "asyncapi.yaml"


def _topics(settings: Settings) -> dict[Family, str]:
    """Each family's configured input topic."""
    one_type = {family: t for t, (family, _) in EVENT_TYPES.items()}
    return {family: input_topic(settings, one_type[family]) for family in Family}


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
    input_messages = {t: input_message(t, family) for t, (family, _) in EVENT_TYPES.items()}
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
                **{n: output_message(n) for n in OUTPUTS},
                "auditAnchor": anchor_message(),
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
