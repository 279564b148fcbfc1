"""Worked examples for rules: ``(event, facts)`` pairs built the way the pipeline builds them.

Every rule declares ``example()`` (it fires) and ``counter_example()`` (it does not), and
the contract suite runs them all, handing each a fresh :class:`Kit`. A kit makes them short
and real: contract-shaped events from the :class:`EventSource` it is given (the simulator's
``simulate.factory.EventFactory``: the rules do not import the simulator, its callers pass
it in), decoded with a fixed example key, folded into in-process profiles by the real
reducers, then read back as :class:`Facts` with the people and the address and person
hubs, as the pipeline would read them.

>>> from simulate.factory import EventFactory  # what the tests pass in
>>> kit = Kit(EventFactory(source=EXAMPLE_SOURCE, seed=5, start=EXAMPLE_START))
>>> uscc = kit.f.uscc()
>>> event, facts = kit.case(kit.registered(uscc), kit.contact_failed(uscc, "tax", day=3))
>>> event.type, len(facts.enterprise.contact_failures)
('contact.failed', 1)
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from rules.base import Facts
from streams.codec import Decoder
from streams.event import Event
from streams.identifiers import PersonKeyer
from streams.profile import EnterpriseProfile, PersonProfile
from streams.profile_reducers import apply_to_enterprise, apply_to_person, index_entries
from streams.profile_store import Hub

EXAMPLE_SECRET = b"riskwire-rule-examples-only"
EXAMPLE_START = datetime(2026, 3, 2, 9, tzinfo=UTC)
EXAMPLE_SOURCE = "rule-example"
Raw = dict[str, Any]
Example = tuple[Event, Facts]


class EventSource(Protocol):
    """Makes contract-shaped raw events (``events.md``), each with a fresh id, dated from
    ``start`` unless given a ``time``: what the rules' examples ask of the simulator's
    ``EventFactory``."""

    start: datetime

    def event(
        self, etype: str, subject: str, data: dict[str, Any], *, time: datetime | None = None
    ) -> Raw: ...

    def uscc(self) -> str: ...

    def person(self, role: str | None = None, *, birth: date | None = None) -> Raw: ...

    def registered(
        self,
        uscc: str | None = None,
        *,
        legal_rep: Raw | None = None,
        officers: list[Raw] | None = None,
        address: str | None = None,
        registered_on: date | None = None,
        capital_paid: float = 1_000_000.0,
        time: datetime | None = None,
    ) -> Raw: ...

    def changed(
        self, uscc: str, field_name: str, new: Any, *, time: datetime | None = None
    ) -> Raw: ...

    def debtor_listed_person(
        self,
        who: Raw,
        *,
        case_no: str = ...,
        amount: float = ...,
        time: datetime | None = None,
    ) -> Raw: ...

    def case_filed(
        self, uscc: str, *, role: str = "defendant", time: datetime | None = None
    ) -> Raw: ...

    def tax_arrears(self, uscc: str, amount: float, *, time: datetime | None = None) -> Raw: ...

    def inspection(
        self,
        uscc: str,
        *,
        department: str = "samr",
        violation: bool | None = None,
        time: datetime | None = None,
    ) -> Raw: ...


class Kit:
    """In-process profiles fed with decoded events; ``day(n)`` is ``n`` days after the
    start of its event source ``f``."""

    def __init__(self, factory: EventSource) -> None:
        self.f = factory
        self.start = factory.start
        self.keyer = PersonKeyer(EXAMPLE_SECRET)
        self.decoder = Decoder(self.keyer)
        self.enterprises: dict[str, EnterpriseProfile] = {}
        self.people: dict[str, PersonProfile] = {}

    def day(self, n: float) -> datetime:
        return self.start + timedelta(days=n)

    def person(self, role: str | None = None, *, age: int = 40) -> Raw:
        """A person who is ``age`` years old at the start (whose birthday is at most three
        days before it, so that every start date has one)."""
        start = self.start.date()
        return self.f.person(
            role, birth=start.replace(year=start.year - age, day=min(start.day, 28))
        )

    # -- raw events ---------------------------------------------------------------------

    def registered(self, uscc: str | None = None, *, day: float = 0, **kw: Any) -> Raw:
        kw.setdefault("legal_rep", self.person())
        kw.setdefault("officers", [self.person("director")])
        kw.setdefault("registered_on", self.day(day).date())
        return self.f.registered(uscc, time=self.day(day), **kw)

    def changed(self, uscc: str, field: str, new: Any, *, day: float = 0) -> Raw:
        return self.f.changed(uscc, field, new, time=self.day(day))

    def shareholders_changed(self, uscc: str, *, day: float = 0) -> Raw:
        holder = self.person()
        new = [{"holder_type": "person", "name": holder["name"], "stake_pct": 100.0}]
        new[0]["person"] = holder
        return self.changed(uscc, "shareholders", new, day=day)

    def contact_failed(self, uscc: str, department: str = "samr", *, day: float = 0) -> Raw:
        data = {"department": department, "channel": "address"}
        return self.f.event("contact.failed", uscc, data, time=self.day(day))

    def penalty(self, uscc: str, department: str = "samr", *, day: float = 0) -> Raw:
        data = {
            "decision_no": f"{department}-罚-{day:g}",
            "department": department,
            "amount": 20_000.0,
            "category": "虚假登记",
        }
        return self.f.event("penalty.imposed", uscc, data, time=self.day(day))

    def abnormal_listed(
        self, uscc: str, reason_code: str = "unreachable_address", *, day: float = 0
    ) -> Raw:
        reason = {"unreachable_address": "通过登记的住所无法联系"}.get(
            reason_code, "未按期公示年报"
        )
        data = {"reason_code": reason_code, "reason": reason, "authority": "samr"}
        return self.f.event("enterprise.abnormal_listed", uscc, data, time=self.day(day))

    def abnormal_removed(self, uscc: str, *, day: float = 0) -> Raw:
        data = {"reason": "已补报年报并更正住所"}
        return self.f.event("enterprise.abnormal_removed", uscc, data, time=self.day(day))

    def debtor_removed(self, who: Raw, reason: str = "performed", *, day: float = 0) -> Raw:
        data = {"case_no": "(2026)粤0305执1234号", "reason": reason, "debtor_type": "person"}
        return self.f.event("debtor.removed", "P:" + who["id_number"], data, time=self.day(day))

    # -- profiles and facts --------------------------------------------------------------

    def feed(self, *raw: Raw) -> Event:
        """Decode and fold each event into its subject's profile; the last event."""
        event: Event | None = None
        for obj in raw:
            event = self.decoder.decode_object(obj)
            sid = event.subject.id
            if event.subject.kind == "enterprise":
                profile = self.enterprises.setdefault(sid, EnterpriseProfile(uscc=sid))
                apply_to_enterprise(profile, event)
            else:
                apply_to_person(self.people.setdefault(sid, PersonProfile(key=sid)), event)
        if event is None:
            raise ValueError("feed needs at least one event")
        return event

    def facts(self, uscc: str) -> Facts:
        """What a rule sees for ``uscc`` (a snapshot: later feeds do not change it)."""
        ent = self.enterprises[uscc].model_copy(deep=True)
        indices: dict[str, dict[str, float]] = {}
        for profile in self.enterprises.values():
            for index, score in index_entries(profile).items():
                indices.setdefault(index, {})[profile.uscc] = score
        hubs = {
            name: Hub(name, len(m), sorted(m.items(), key=lambda kv: (kv[1], kv[0]), reverse=True))
            for name, m in indices.items()
        }
        people = {
            ref.key: self.people[ref.key].model_copy(deep=True)
            for ref in ent.people()
            if ref.key in self.people
        }
        return Facts(enterprise=ent, people=people, hubs=hubs)

    def case(self, *raw: Raw, uscc: str | None = None) -> Example:
        """Feed ``raw``; the last event with the facts of ``uscc`` (default: its subject)."""
        event = self.feed(*raw)
        return event, self.facts(uscc or event.subject.id)

    def key_of(self, who: Raw) -> str:
        """The keyed id of a raw person, as profiles and alerts name them."""
        return self.keyer.key(who["id_number"])
