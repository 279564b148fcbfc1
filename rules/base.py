"""What a rule is: declared inputs, an id and a version, and ``evaluate(event, facts)``.

The engine dispatches on ``inputs``, so a rule never sees an event it did not ask for,
and loads what the rule ``needs`` (the people's profiles, the hubs) in one batched read.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, Self, cast, get_args

from typing_extensions import TypeVar

from rules.params import RuleParams
from streams.alert import Evidence, Severity
from streams.event import Event
from streams.profile import EnterpriseProfile, PersonProfile
from streams.profile_store import Hub
from streams.rule_catalog import CATALOG

if TYPE_CHECKING:  # rules.grading and rules.models read this module: their types, not imports
    from rules.grading.weights import GradeWeights
    from rules.models.early_warning import Warning
    from streams.grade import Grade


class Need(enum.Enum):
    """What a rule reads beyond the enterprise's own profile."""

    PEOPLE = "people"  # person profiles of the legal representative and officers
    ADDRESS_HUB = "address_hub"  # live enterprises at the registered address
    PERSON_HUBS = "person_hubs"  # live enterprises each of its people serves


class Shared(enum.Enum):
    """A fact an enterprise's verdict reads from other enterprises: when another's event
    changes it, the rule is re-run for this enterprise (:meth:`Rule.reevaluate`)."""

    ADDRESS = "address"  # the live enterprises at its registered address
    LEGAL_REP_HUB = "legal_rep_hub"  # the live enterprises its legal representative serves


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything a rule may look at for one enterprise, read once per batch.

    ``grade`` is the enterprise's grade after this event and ``previous_grade`` the one it
    had before (both ``None`` until grading has run for it); ``warning_probability`` is the
    early-warning model's score for this event, when the model scored it.
    """

    enterprise: EnterpriseProfile
    people: Mapping[str, PersonProfile] = field(default_factory=dict)
    hubs: Mapping[str, Hub] = field(default_factory=dict)
    grade: Grade | None = None
    previous_grade: Grade | None = None
    warning: Warning | None = None
    weights: GradeWeights | None = None  # those ``grade`` was made with (None: the defaults)

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
    # A hub's verdict re-stated from the hub alone after its members changed
    # (:meth:`Rule.reevaluate_hub`): it sets an open alert's members and keeps its texts,
    # and opens an alert only when none is open.
    refresh: bool = False


@dataclass(frozen=True, slots=True)
class Clear:
    """The facts a rule fired on no longer hold (a listing ended, arrears were cleared):
    the open alert of this fingerprint, if any, is resolved with ``reason`` (zh-CN)."""

    rule_id: str
    subject_kind: str
    subject_id: str
    reason: str


Verdict = Hit | Clear


def evidence_of(event: Event, fact: str) -> Evidence:
    return Evidence(
        event_id=event.id, source=event.source, type=event.type, time=event.time, fact=fact
    )


def members_text(members: Sequence[str], total: int, shown: int = 50) -> str:
    """A hub's members for an officer to read: the first ``shown``, and 等 when it has more.

    >>> members_text(["A", "B"], 2), members_text(["A", "B"], 80, shown=1)
    ('A、B', 'A等')
    """
    return "、".join(members[:shown]) + ("等" if total > shown else "")


P = TypeVar("P", bound=RuleParams, covariant=True, default=RuleParams)


class ParamsSource(Protocol):
    """Where a rule finds its configured thresholds (:class:`rules.config.RulesConfig`)."""

    def params_of(self, rule: type[Rule[P]]) -> P: ...


class Rule(ABC, Generic[P]):
    """A rule of params model ``P`` (``class TaxArrears(Rule[TaxArrearsParams])``): it is
    built with one (the model's defaults when left out) and reads ``self.params``."""

    rule_id: ClassVar[str]
    version: ClassVar[int]
    severity: ClassVar[Severity]
    inputs: ClassVar[frozenset[str]]
    needs: ClassVar[frozenset[Need]] = frozenset()
    shares: ClassVar[frozenset[Shared]] = frozenset()
    judges: ClassVar[frozenset[str]] = frozenset()  # hub kinds it is about: "addr", "person"
    params_model: ClassVar[type[RuleParams]] = RuleParams  # P, read off ``Rule[P]``

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A rule takes its params model from ``Rule[P]`` (named once, in its bases). A
        rule of the catalog takes its severity from there (:mod:`streams.rule_catalog`),
        and may not spell another."""
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            model = next(iter(get_args(base)), None)
            if isinstance(model, type) and issubclass(model, RuleParams):
                cls.params_model = model
        entry = CATALOG.get(vars(cls).get("rule_id", ""))
        if entry is None:
            return
        if "severity" in vars(cls):
            raise TypeError(f"{cls.__name__}: a rule's severity is the catalog's")
        cls.severity = entry.severity

    def __init__(self, params: P | None = None) -> None:
        model = type(self).params_model
        if params is not None and type(params) is not model:
            raise TypeError(f"{type(self).__name__} takes {model.__name__}, not {params!r}")
        self.params: P = params if params is not None else cast(P, model())

    @classmethod
    def configured(cls, config: ParamsSource) -> Self:
        """The rule with the thresholds ``config`` holds for it."""
        return cls(config.params_of(cls))

    @abstractmethod
    def evaluate(self, event: Event, facts: Facts) -> Sequence[Verdict]:
        """The verdicts this event makes for ``facts.enterprise``: usually nothing, one
        :class:`Hit`, or a :class:`Clear` when what the rule fired on has ended."""

    def reevaluate(self, trigger: Event, facts: Facts) -> Sequence[Verdict]:
        """The verdicts for ``facts.enterprise`` after another enterprise's ``trigger``
        changed one of the facts in ``shares``; only rules that share facts override it."""
        return ()

    def reevaluate_hub(self, trigger: Event, hub: Hub) -> Sequence[Verdict]:
        """The verdict about ``hub`` itself (a rule whose subject is an address or a
        person, of a kind in ``judges``) after ``trigger`` changed its members: a clear
        when it no longer holds, else a ``refresh`` hit naming its current members."""
        return ()

    def clear(self, *, subject_kind: str, subject_id: str, reason: str) -> Clear:
        return Clear(self.rule_id, subject_kind, subject_id, reason)

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
        refresh: bool = False,
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
            refresh=refresh,
        )

    def hub_hit(
        self,
        event: Event,
        hub: Hub,
        *,
        subject_kind: str,
        title: str,
        fact: str,
        threshold: str,
        refresh: bool = False,
    ) -> Hit:
        """A hit about ``hub`` itself (an address or a person), naming its members: the
        explanation is ``fact``, the ``threshold`` it reached, and the members; the evidence
        is ``fact`` on ``event``."""
        members = [uscc for uscc, _ in hub.members]
        return self.hit(
            subject_kind=subject_kind,
            subject_id=hub.index.partition(":")[2],
            enterprises=members,
            enterprises_total=hub.size,
            title=title,
            explanation=f"{fact}{threshold}。涉及企业：{members_text(members, hub.size)}。",
            evidence=[evidence_of(event, fact)],
            refresh=refresh,
        )
