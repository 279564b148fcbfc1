"""The demo feed ``make run`` plays: a small Qianhai population with planted cases (a shell
ring at one address behind one front man, dishonest officers in both orders, arrears), in
business-time order. ``riskwire simulate`` plants every rule."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from simulate.factory import EventFactory
from streams.schemas import EVENT_TYPES, Family

# The department that writes each topic, as the first segment of the demo events' source
# (the sources dashboard shows freshness and volume per department).
DEMO_SOURCES = {
    Family.REGISTRATION: "samr/riskwire-demo",
    Family.COURT: "court/riskwire-demo",
    Family.TAX: "tax/riskwire-demo",
    Family.ENFORCEMENT: "enforcement-bureau/riskwire-demo",
}


def demo_events(seed: int = 2017, *, companies: int = 40) -> list[dict[str, Any]]:
    f = EventFactory(source="riskwire-demo", seed=seed)
    day = timedelta(days=1)
    t = f.start
    out: list[dict[str, Any]] = []

    # Ordinary firms with contributions.
    for _ in range(companies):
        uscc = f.uscc()
        out += [
            f.registered(uscc, time=t),
            f.tax_paid(uscc, time=t + day),
            f.employment(uscc, time=t + day),
        ]

    # A shell ring: six firms at one address (variant spellings), recently registered,
    # fronted by one person.
    front = f.person()
    ring = [f.uscc() for _ in range(6)]
    spellings = [
        "广东省深圳市南山区前湾一路1号A栋201室",
        "深圳市南山区前湾一路１号Ａ栋２０１室",
        "南山区 前湾一路1号A栋201室",
        "南山區前灣一路1號A棟201室",
        "广东省深圳市南山区前湾一路1号A栋201室",
        "深圳市 南山区 前湾一路 1号 A栋 201室",
    ]
    for i, (uscc, address) in enumerate(zip(ring, spellings, strict=True)):
        when = t + (10 + i * 7) * day
        out.append(
            f.registered(uscc, legal_rep=front, address=address, capital_paid=0.0, time=when)
        )

    # A director who is later listed as a dishonest judgment debtor (appointed, then listed).
    director = f.person("director")
    firm = f.uscc()
    out.append(f.registered(firm, officers=[director], time=t + 20 * day))
    out.append(f.debtor_listed_person(director, time=t + 60 * day))

    # A dishonest debtor appointed legal representative (listed, then appointed).
    debtor = f.person()
    out.append(f.debtor_listed_person(debtor, case_no="(2025)粤0305执5678号", time=t + 5 * day))
    out.append(f.registered(legal_rep=debtor, time=t + 70 * day))

    # Tax arrears over the threshold.
    late = f.uscc()
    out += [f.registered(late, time=t + 2 * day), f.tax_arrears(late, 260_000.0, time=t + 80 * day)]
    out.sort(key=lambda ev: ev["time"])
    for ev in out:
        ev["source"] = DEMO_SOURCES[EVENT_TYPES[ev["type"]][0]]
    return out
