"""Which enterprises to re-evaluate because another enterprise's event changed a fact they
share: a firm joins or leaves an address (every member's address cluster changes), or a
person's company count moves (every firm that person represents sees it).

An enterprise event that can move a membership (a registration, a change of address, legal
representative or officers, a deregistration) marks the hubs it touches as changed: the
index operations its write made (the hubs it left, too) and, for a replay whose operations
were already made, the hubs its profile names. Each changed hub is read once per batch with
at most ``cap`` members (newest first); the rest are counted in
``riskwire_fanout_overflow_total`` and not re-evaluated now (their own next event, or the
hub's next change, evaluates them). A dependent is re-evaluated once per batch, with the
last event that changed one of its hubs as the trigger.

>>> from streams.profile_store import Hub
>>> hubs = {"addr:x": Hub("addr:x", 3, [("A", 1.0), ("B", 1.0)])}
>>> picked = pick({"addr:x": ("event", "A")}, hubs)
>>> sorted(picked), picked["B"].via
(['B'], {'addr:x'})
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Generic, TypeVar

from core.telemetry import FANOUT_OVERFLOW, REEVALUATIONS
from rules.base import Clear, Facts, Shared, Verdict
from rules.engine import RuleEngine
from streams.alert import Alert
from streams.event import Event
from streams.profile import EnterpriseProfile, PersonProfile
from streams.profile_store import EntityRef, Hub

DEFAULT_FANOUT_CAP: Final = 200
MEMBERSHIP_FIELDS: Final = frozenset({"address_registered", "legal_rep", "officers"})
# The only event types that can move one (``moves_membership``), checked before the field:
# asking an event's data for a ``field`` it does not have raises inside pydantic.
MEMBERSHIP_TYPES: Final = frozenset(
    {"enterprise.registered", "enterprise.deregistered", "enterprise.changed"}
)
HUB_KINDS: Final = {"addr": Shared.ADDRESS, "person": Shared.LEGAL_REP_HUB}
HUB_OF_SUBJECT: Final = {"address": "addr", "person": "person"}  # an alert about a hub

T = TypeVar("T")


@dataclass(slots=True)
class Dependent(Generic[T]):
    """An enterprise to re-evaluate: the trigger, and the changed hubs it is in."""

    trigger: T
    via: set[str] = field(default_factory=set)


def moves_membership(event_type: str, changed_field: str | None) -> bool:
    """Whether an enterprise event of this type (and changed field) can move the
    enterprise into or out of a hub."""
    if event_type in ("enterprise.registered", "enterprise.deregistered"):
        return True
    return event_type == "enterprise.changed" and changed_field in MEMBERSHIP_FIELDS


def changed_by(
    event_type: str, changed_field: str | None, profile: EnterpriseProfile, ops: Iterable[str]
) -> set[str]:
    """The shared hubs an enterprise event changed: the indices its write touched (``ops``,
    the hubs it left too) and, since a replayed event writes nothing, the hubs its profile
    names for what the event is about."""
    if not moves_membership(event_type, changed_field):
        return set()
    names = {ix for ix in ops if shared_of(ix) is not None}
    whole = event_type != "enterprise.changed"
    if profile.address_norm and (whole or changed_field == "address_registered"):
        names.add(f"addr:{profile.address_norm}")
    if whole or changed_field in ("legal_rep", "officers"):
        names.update(f"person:{p.key}" for p in profile.people())
    return names


def shared_of(index: str) -> Shared | None:
    return HUB_KINDS.get(index.partition(":")[0])


def pick(
    changed: Mapping[str, tuple[T, str]], hubs: Mapping[str, Hub], cap: int = DEFAULT_FANOUT_CAP
) -> dict[str, Dependent[T]]:
    """The members of each changed hub (``index -> (trigger, the enterprise whose event
    changed it)``), except that enterprise, up to ``cap`` per hub; the overflow is counted."""
    out: dict[str, Dependent[T]] = {}
    for index, (trigger, by) in changed.items():
        hub = hubs.get(index)
        if hub is None:
            continue
        kind = index.partition(":")[0]
        if hub.size > cap:
            FANOUT_OVERFLOW.labels(kind).inc(hub.size - cap)
        for uscc, _ in hub.members[:cap]:
            if uscc != by:
                dep = out.setdefault(uscc, Dependent(trigger))
                dep.trigger = trigger
                dep.via.add(index)
    return out


def sharing(dep: Dependent[T], ent: EnterpriseProfile) -> set[Shared]:
    """Which of its shared facts changed for ``ent``: its address hub, and the hub of its
    legal representative (a hub of one of its officers changes nothing it reads)."""
    out: set[Shared] = set()
    for index in dep.via:
        if index == f"addr:{ent.address_norm}":
            out.add(Shared.ADDRESS)
        elif ent.legal_rep is not None and index == f"person:{ent.legal_rep.key}":
            out.add(Shared.LEGAL_REP_HUB)
    for shared in out:
        REEVALUATIONS.labels(shared.value).inc()
    return out


def hub_names(ents: Iterable[EnterpriseProfile]) -> set[str]:
    """The hubs a re-evaluation of ``ents`` reads: each one's address and legal rep."""
    names: set[str] = set()
    for ent in ents:
        if ent.address_norm:
            names.add(f"addr:{ent.address_norm}")
        if ent.legal_rep is not None:
            names.add(f"person:{ent.legal_rep.key}")
    return names


def changed_hubs(
    engine: RuleEngine,
    events: Sequence[tuple[T, Event]],
    profiles: Mapping[EntityRef, EnterpriseProfile | PersonProfile],
    indexed: Mapping[str, set[str]],
) -> dict[str, tuple[tuple[T, Event], str]]:
    """The shared hubs a batch's enterprise events changed, each with the last (message,
    event) that changed it and its enterprise; only kinds some rule reads or judges."""
    read = {k for k, shared in HUB_KINDS.items() if engine.sharing(shared) or engine.judges(k)}
    changed: dict[str, tuple[tuple[T, Event], str]] = {}
    if not read:
        return changed
    for msg, ev in events:
        if ev.type not in MEMBERSHIP_TYPES or ev.subject.kind != "enterprise":
            continue  # most events: checked before any lookup
        field_ = getattr(ev.data, "field", None)
        if not moves_membership(ev.type, field_):
            continue
        profile = profiles.get(EntityRef("ent", ev.subject.id))
        if not isinstance(profile, EnterpriseProfile):
            continue
        for ix in changed_by(ev.type, field_, profile, indexed.get(ev.subject.id, ())):
            if ix.partition(":")[0] in read:
                changed[ix] = ((msg, ev), ev.subject.id)
    return changed


def reevaluate(
    engine: RuleEngine,
    dependents: Mapping[str, Dependent[tuple[T, Event]]],
    enterprises: Mapping[str, EnterpriseProfile],
    hubs: Mapping[str, Hub],
) -> list[tuple[T, Event, Verdict]]:
    """Re-run the rules that read shared facts for each dependent, with the event that
    changed them as the trigger (its people and grade are not read: no such rule needs
    them); each verdict with the trigger's message and event."""
    out: list[tuple[T, Event, Verdict]] = []
    for uscc, dep in dependents.items():
        ent = enterprises.get(uscc)
        shared = sharing(dep, ent) if ent is not None else set()
        if ent is None or not shared:
            continue
        msg, trigger = dep.trigger
        facts = Facts(enterprise=ent, hubs=hubs)
        out += [(msg, trigger, v) for v in engine.reevaluate(trigger, facts, shared)]
    return out


def hub_of(alert: Alert) -> str | None:
    """The hub an alert is about (an address, a person's companies), if it is about one."""
    kind = HUB_OF_SUBJECT.get(alert.subject.kind)
    return f"{kind}:{alert.subject.id}" if kind is not None else None


def agrees(verdict: Verdict, alert: Alert) -> bool:
    """Whether ``alert`` as written says what ``verdict`` says: resolved for a clear, open
    with the hit's members for a hit."""
    if isinstance(verdict, Clear):
        return not alert.status.is_open
    return (
        alert.status.is_open
        and alert.enterprises == list(verdict.enterprises)
        and alert.enterprises_total == verdict.enterprises_total
    )
