"""The bench's input (pure): a seeded, realistic mix of serialised input messages with
~0.5% bad ones, and the paced run's messages, one in twenty a ``tax.arrears`` trigger for a
firm that holds no alert. The same seed gives the same bytes."""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from simulate import samples
from simulate.factory import EventFactory
from streams.identifiers import USCC_ALPHABET

SEED = 2017
BAD_FRACTION = 0.005
TRIGGER_FRACTION = 0.05
TRIGGER_ARREARS_CNY = 500_000.0

# Share of each type among the events after the registrations (and the bad messages).
ACTIVITY_WEIGHTS: dict[str, float] = {
    "tax.paid": 0.35,
    "employment.reported": 0.20,
    "case.filed": 0.10,
    "inspection.recorded": 0.10,
    "contact.failed": 0.05,
    "enterprise.changed": 0.07,
    "tax.arrears": 0.02,
    "debtor.listed": 0.005,
}
ARREARS_OVER_THRESHOLD = 0.10  # of tax.arrears: >= 100,000 CNY, so tax_arrears fires
DEBTOR_IS_OFFICER = 0.20  # of debtor.listed: an officer of a registered firm (dishonest_officer)
CLUSTER_EVERY = 500  # one planted 5-firm address cluster per this many registrations
RING_EVERY = 1000  # one person fronting 5 firms per this many registrations
SECOND = timedelta(seconds=1)
PACED_TYPES = ("tax.paid", "employment.reported", "inspection.recorded", "case.filed")


@dataclass(frozen=True, slots=True)
class BenchMessage:
    """One input message, serialised: its event type picks the topic, ``key`` is the subject."""

    etype: str
    key: bytes
    value: bytes
    bad: bool = False


@dataclass(slots=True)
class Mix:
    messages: list[BenchMessage]
    population: list[str]  # every registered uscc
    alerting: set[str]  # enterprises that may hold an alert once the mix is processed
    officers: dict[str, dict[str, Any]] = field(default_factory=dict)  # uscc -> a director

    def counts(self) -> Counter[str]:
        return Counter("bad" if m.bad else m.etype for m in self.messages)


def _message(event: dict[str, Any]) -> BenchMessage:
    return BenchMessage(event["type"], event["subject"].encode(), orjson.dumps(event))


def _wrong_char(valid: str, alphabet: str, rng: random.Random) -> str:
    """``valid`` with its check (last) character replaced by another one."""
    return valid[:-1] + rng.choice([c for c in alphabet if c != valid[-1]])


def _registrations(f: EventFactory, population: int) -> tuple[list[dict[str, Any]], Mix]:
    """Registrations with planted address clusters and 5-firm fronts; also answers the mix
    state: the population, the people serving each firm (for debtor listings)."""
    mix = Mix([], [], set())
    events: list[dict[str, Any]] = []
    day = timedelta(days=365) / max(population, 1)
    for i in range(population):
        uscc = f.uscc()
        group, slot = divmod(i, 5)
        kwargs: dict[str, Any] = {}
        if group % (CLUSTER_EVERY // 5) == 1:  # 5 consecutive firms share an address
            kwargs["address"] = samples.make_address(random.Random(group))
            mix.alerting.add(uscc)
        if group % (RING_EVERY // 5) == 3:  # 5 consecutive firms fronted by one person
            kwargs["legal_rep"] = f.person() if slot == 0 else events[-1]["data"]["legal_rep"]
            mix.alerting.add(uscc)
        events.append(f.registered(uscc, time=f.start + i * day, **kwargs))
        mix.population.append(uscc)
        mix.officers[uscc] = events[-1]["data"]["officers"][0]
    return events, mix


def _activity(f: EventFactory, etype: str, uscc: str, mix: Mix, when: datetime) -> dict[str, Any]:
    rng = f.rng
    if etype == "tax.paid":
        return f.tax_paid(uscc, time=when)
    if etype == "employment.reported":
        return f.employment(uscc, time=when)
    if etype == "case.filed":
        return f.case_filed(uscc, role=rng.choice(("defendant", "plaintiff")), time=when)
    if etype == "inspection.recorded":
        return f.inspection(uscc, violation=rng.random() < 0.1, time=when)
    if etype == "contact.failed":
        channel = rng.choice(("phone", "address", "mail"))
        return f.event(etype, uscc, {"department": "samr", "channel": channel}, time=when)
    if etype == "enterprise.changed":
        if rng.random() < 0.5:
            return f.changed(uscc, "address_registered", samples.make_address(rng), time=when)
        holder = f.person()
        shareholders = [
            {"holder_type": "person", "name": holder["name"], "stake_pct": 60.0, "person": holder},
            {
                "holder_type": "enterprise",
                "name": samples.make_company_name(rng),
                "stake_pct": 40.0,
                "uscc": rng.choice(mix.population),
            },
        ]
        return f.changed(uscc, "shareholders", shareholders, time=when)
    if etype == "tax.arrears":
        mix.alerting.add(uscc)  # any arrears: keep the latency triggers' firms clean
        if rng.random() < ARREARS_OVER_THRESHOLD:
            return f.tax_arrears(uscc, float(rng.randrange(100_000, 2_000_000)), time=when)
        return f.tax_arrears(uscc, float(rng.randrange(1_000, 99_000)), time=when)
    if etype == "debtor.listed":
        who = f.person()
        if rng.random() < DEBTOR_IS_OFFICER:
            who = {k: v for k, v in mix.officers[uscc].items() if k != "role"}
            mix.alerting.add(uscc)
        case_no = f"(2026)粤0305执{rng.randrange(1000, 99999)}号"
        return f.debtor_listed_person(who, case_no=case_no, time=when)
    raise ValueError(f"no generator for {etype}")


def _bad(f: EventFactory, kind: int, uscc: str, when: datetime) -> BenchMessage:
    """A message the worker must dead-letter: not JSON, or a wrong check character."""
    if kind == 0:
        event = f.tax_paid(uscc, time=when)
        value = orjson.dumps(event)
        return BenchMessage(event["type"], uscc.encode(), value[: len(value) // 2], bad=True)
    if kind == 1:
        event = f.tax_paid(_wrong_char(uscc, USCC_ALPHABET, f.rng), time=when)
        return BenchMessage(event["type"], event["subject"].encode(), orjson.dumps(event), True)
    who = f.person()
    who["id_number"] = _wrong_char(who["id_number"], "0123456789X", f.rng)
    event = f.debtor_listed_person(who, time=when)
    return BenchMessage(event["type"], event["subject"].encode(), orjson.dumps(event), True)


def make_mix(n: int, *, seed: int = SEED) -> Mix:
    """``n`` serialised messages: ~n/10 registrations first, then a shuffled mix of the
    other types with ~0.5% bad messages. The same seed gives the same bytes."""
    f = EventFactory(source="riskwire-bench", seed=seed)
    registrations, mix = _registrations(f, max(1, n // 10))
    n_bad = round(n * BAD_FRACTION)
    n_activity = max(0, n - len(registrations) - n_bad)
    types = f.rng.choices(
        list(ACTIVITY_WEIGHTS), weights=list(ACTIVITY_WEIGHTS.values()), k=n_activity
    )
    after = f.start + timedelta(days=366)
    rest = [
        _message(_activity(f, etype, f.rng.choice(mix.population), mix, after + i * SECOND))
        for i, etype in enumerate(types)
    ]
    rest += [
        _bad(f, i % 3, f.rng.choice(mix.population), after + (n_activity + i) * SECOND)
        for i in range(n_bad)
    ]
    f.rng.shuffle(rest)
    mix.messages = [_message(ev) for ev in registrations] + rest
    return mix


@dataclass(frozen=True, slots=True)
class Paced:
    message: BenchMessage
    trigger: str | None  # the uscc whose tax_arrears alert this message must fire


def make_paced(mix: Mix, total: int, *, seed: int = SEED) -> list[Paced]:
    """The latency run's messages: background activity with a trigger, a ``tax.arrears``
    of 500,000 CNY for a distinct registered firm without alerts, in one message of 20."""
    f = EventFactory(source="riskwire-bench-paced", seed=seed + 1)
    candidates = [u for u in mix.population if u not in mix.alerting]
    f.rng.shuffle(candidates)
    n_triggers = min(len(candidates), round(total * TRIGGER_FRACTION))
    at = {math.floor(i * total / n_triggers) for i in range(n_triggers)} if n_triggers else set()
    when = f.start + timedelta(days=400)
    out: list[Paced] = []
    for i in range(total):
        if i in at:
            uscc = candidates.pop()
            out.append(Paced(_message(f.tax_arrears(uscc, TRIGGER_ARREARS_CNY, time=when)), uscc))
            continue
        etype = f.rng.choice(PACED_TYPES)
        event = _activity(f, etype, f.rng.choice(mix.population), mix, when)
        out.append(Paced(_message(event), None))
    return out
