"""What a rule is: declared inputs, an id and a version, and ``evaluate(event, facts)``.

The engine dispatches on ``inputs``, so a rule never sees an event it did not ask for,
and loads what the rule ``needs`` (the people's profiles, the hubs) in one batched read.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from processors.profiles.model import EnterpriseProfile, PersonProfile
from processors.profiles.store import Hub
from streams.alert import Evidence, Severity
from streams.event import Event


class Need(enum.Enum):
    """What a rule reads beyond the enterprise's own profile."""

    PEOPLE = "people"  # person profiles of the legal representative and officers
    ADDRESS_HUB = "address_hub"  # live enterprises at the registered address
    PERSON_HUBS = "person_hubs"  # live enterprises each of its people serves


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything a rule may look at for one enterprise, read once per batch."""

    enterprise: EnterpriseProfile
    people: Mapping[str, PersonProfile] = field(default_factory=dict)
    hubs: Mapping[str, Hub] = field(default_factory=dict)

    def address_hub(self) -> Hub | None:
        norm = self.enterprise.address_norm
        return self.hubs.get(f"addr:{norm}") if norm else None

    def person_hub(self, person_key: str) -> Hub | None:
        return self.hubs.get(f"person:{person_key}")


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule fired. Subject kinds and ids follow ``alerts.md``."""

    rule_id: str
    rule_version: int
    severity: Severity
    subject_kind: str
    subject_id: str
    enterprises: Sequence[str]
    title: str
    explanation: str
    evidence: Sequence[Evidence]
    enterprises_total: int | None = None


def evidence_of(event: Event, fact: str) -> Evidence:
    return Evidence(
        event_id=event.id, source=event.source, type=event.type, time=event.time, fact=fact
    )


class Rule(ABC):
    rule_id: ClassVar[str]
    version: ClassVar[int]
    severity: ClassVar[Severity]
    inputs: ClassVar[frozenset[str]]
    needs: ClassVar[frozenset[Need]] = frozenset()

    def __init__(self, **params: Any) -> None:
        self.params = params

    @abstractmethod
    def evaluate(self, event: Event, facts: Facts) -> Sequence[Hit]:
        """The hits this event makes for ``facts.enterprise`` (usually none or one)."""

    def hit(
        self,
        *,
        subject_kind: str,
        subject_id: str,
        enterprises: Sequence[str],
        title: str,
        explanation: str,
        evidence: Sequence[Evidence],
        enterprises_total: int | None = None,
    ) -> Hit:
        return Hit(
            rule_id=self.rule_id,
            rule_version=self.version,
            severity=self.severity,
            subject_kind=subject_kind,
            subject_id=subject_id,
            enterprises=enterprises,
            title=title,
            explanation=explanation,
            evidence=evidence,
            enterprises_total=enterprises_total,
        )
