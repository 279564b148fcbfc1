"""The simulated population: enterprises, their people, addresses and phones.

A seeded builder draws the background firms of a Qianhai-like register: most registered
before the simulated period (the 2015-2017 boom), the rest during it; legal
representatives, officers and shareholders, a person seldom serving more than a few firms;
unique Shenzhen addresses plus a few registered-agent "mega addresses" that host many firms
and the nominees who front some of them. Each firm carries a hidden risk ``tier`` that
drives how often adverse facts happen to it (see :mod:`simulate.histories`).

>>> import random
>>> pop = build_population(SCALES["tiny"], random.Random(1))
>>> len(pop.enterprises), pop.enterprises[0].uscc == build_population(
...     SCALES["tiny"], random.Random(1)).enterprises[0].uscc
(300, True)
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any, Final

from simulate import samples
from simulate.calendar import END, START, years_before
from simulate.factory import person as wire_person
from streams.address import normalise_address


@dataclass(frozen=True, slots=True)
class Scale:
    """How big a simulation is: firms, how often they file tax and social insurance
    (every month at full scale, every quarter for the smaller ones) and how many copies of
    every planted case it holds."""

    name: str
    enterprises: int
    filing_every: int
    copies: int


SCALES: Final = MappingProxyType(
    {
        "tiny": Scale("tiny", 300, 3, 1),
        "small": Scale("small", 2_000, 3, 2),
        "medium": Scale("medium", 10_000, 3, 5),
        "full": Scale("full", 170_000, 1, 20),
    }
)


def scale_named(name: str, enterprises: int | None = None) -> Scale:
    """The named scale, with its number of firms overridden when ``enterprises`` is set."""
    try:
        base = SCALES[name]
    except KeyError:
        raise ValueError(f"unknown scale {name!r}: one of {', '.join(SCALES)}") from None
    if enterprises is None:
        return base
    if enterprises < 1:
        raise ValueError("enterprises must be at least 1")
    copies = max(1, min(base.copies, enterprises // 1_000))
    return Scale(base.name, enterprises, base.filing_every, copies)


class Tier(enum.IntEnum):
    """A firm's hidden propensity for trouble."""

    LOW = 0
    MEDIUM = 1
    HIGH = 2


@dataclass(slots=True, eq=False)
class Person:
    id_number: str
    name: str
    birth: date
    serves: int = 0  # firms this person is legal representative or officer of
    listed: list[str] = field(default_factory=list)  # open dishonest-debtor case numbers

    def wire(self, role: str | None = None) -> dict[str, Any]:
        """The contract's ``Person`` object."""
        return wire_person(self.id_number, self.name, role)


@dataclass(frozen=True, slots=True)
class Holding:
    """A shareholder: a person or another enterprise."""

    name: str
    stake_pct: float
    person: Person | None = None
    uscc: str | None = None

    def wire(self) -> dict[str, Any]:
        if self.person is not None:
            return {
                "holder_type": "person",
                "name": self.name,
                "stake_pct": self.stake_pct,
                "person": self.person.wire(),
            }
        return {
            "holder_type": "enterprise",
            "name": self.name,
            "stake_pct": self.stake_pct,
            "uscc": self.uscc,
        }


@dataclass(slots=True, eq=False)
class Enterprise:
    uscc: str
    name: str
    registered_on: date
    capital_registered: float
    capital_paid: float
    industry: str
    address: str
    phone: str
    legal_rep: Person
    officers: list[tuple[Person, str]]
    shareholders: list[Holding]
    tier: Tier = Tier.LOW
    pays_tax: bool = True
    employees: int = 0
    revenue: float = 0.0  # typical monthly VAT base, CNY
    planted: bool = False  # a planted case's firm: its background is contributions only
    deregistered_on: date | None = None
    # The facts so far that the hidden violation risk reads (see simulate.risk).
    arrears: float = 0.0
    arrears_since: date | None = None
    abnormal: str | None = None
    penalties: int = 0
    failed_contacts: list[int] = field(default_factory=list)  # day ordinals
    open_cases: list[str] = field(default_factory=list)
    debtor_cases: list[str] = field(default_factory=list)

    def people(self) -> list[Person]:
        """The legal representative and the officers, each once."""
        out = [self.legal_rep]
        out += [p for p, _ in self.officers if all(p is not q for q in out)]
        return out


# -- the register's vocabulary ------------------------------------------------------------

INDUSTRIES: Final = (
    ("I6510", 14), ("I6450", 6), ("F5179", 12), ("F5199", 8), ("L7212", 10), ("L7211", 4),
    ("J6930", 3), ("J6999", 5), ("M7520", 9), ("G5829", 6), ("L7281", 5), ("E4710", 3),
    ("R8710", 2), ("F5261", 5), ("H6210", 4),
)  # fmt: skip
_INDUSTRY_CODES: Final = tuple(code for code, _ in INDUSTRIES)
_INDUSTRY_WEIGHTS: Final = tuple(w for _, w in INDUSTRIES)
_CAPITALS: Final = (100_000.0, 500_000.0, 1_000_000.0, 5_000_000.0, 10_000_000.0, 50_000_000.0)
_CAPITAL_WEIGHTS: Final = (8, 14, 30, 22, 18, 8)
# Registration years before the simulated period: the Qianhai boom of 2015-2017.
_YEARS: Final = tuple(range(2008, START.year))
_YEAR_WEIGHTS: Final = (1, 1, 1, 2, 3, 5, 9, 12, 11, 8, 6, 5, 5, 4, 4)
PRE_PERIOD_SHARE: Final = 0.6
# Where people come from: Shenzhen districts and the provinces that send most migrants.
AREA_CODES: Final = (
    "440305", "440304", "440303", "440306", "440307", "440309", "440106", "441302",
    "445202", "430102", "430524", "420106", "360102", "450102", "510107", "350102",
    "410105", "362421",
)  # fmt: skip
MEGA_ADDRESSES: Final = (
    "广东省深圳市前海深港合作区前湾一路1号A栋201室（入驻深圳市前海商务秘书有限公司）",
    "深圳市前海深港合作区南山街道桂湾五路128号前海深港基金小镇B7栋（入驻深圳市前海商务秘书有限公司）",
    "深圳市前海深港合作区南山街道梦海大道5035号前海华润金融中心T5写字楼1201（入驻深圳市创新秘书服务有限公司）",
    "广东省深圳市南山区粤海街道高新区社区科苑南路2666号中国华润大厦A座3层（入驻深圳市华信商务秘书有限公司）",
)
MEGA_SHARE: Final = 0.015  # of background firms registered at a mega address
SHARED_SHARE: Final = 0.02  # at a business centre shared by two to four firms
TIER_WEIGHTS: Final = (72, 20, 8)
MIN_AGE: Final = 22  # background people are adults well clear of the age rule
MAX_AGE_AT_END: Final = 70


@dataclass(slots=True)
class Population:
    """Every firm and person of one simulation, and what keeps them unique."""

    rng: random.Random
    enterprises: list[Enterprise] = field(default_factory=list)
    usccs: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    id_numbers: set[str] = field(default_factory=set)
    addresses: set[str] = field(default_factory=set)  # normalised, of background firms
    nominees: list[Person] = field(default_factory=list)

    def new_uscc(self) -> str:
        while True:
            code = samples.make_uscc(self.rng)
            if code not in self.usccs:
                self.usccs.add(code)
                return code

    def new_company_name(self) -> str:
        name = samples.make_company_name(self.rng)
        while name in self.names:
            name = name[:-4] + self.rng.choice("华信达诚通泰鑫源恒瑞丰汇") + name[-4:]
        self.names.add(name)
        return name

    def new_person(self, birth: date | None = None, *, latest_birth: date | None = None) -> Person:
        """A person never drawn before; by default an adult aged 22-70 during the period."""
        if birth is None:
            first = years_before(END, MAX_AGE_AT_END).toordinal()
            last = years_before(latest_birth or START, MIN_AGE).toordinal()
            birth = date.fromordinal(self.rng.randint(first, max(first, last)))
        while True:
            number = samples.make_id_number(self.rng, birth=birth, area=self.rng.choice(AREA_CODES))
            if number not in self.id_numbers:
                self.id_numbers.add(number)
                return Person(number, samples.make_person_name(self.rng), birth)

    def new_address(self) -> str:
        """A street address that no firm of the population uses yet."""
        while True:
            address = samples.make_address(self.rng)
            if "室" not in address:
                address += f"{self.rng.randint(2, 32)}楼{self.rng.randint(1, 30):02d}室"
            key = normalise_address(address)
            if key not in self.addresses:
                self.addresses.add(key)
                return address


def build_population(scale: Scale, rng: random.Random) -> Population:
    """The background firms of ``scale`` (planted cases are added by the planter)."""
    pop = Population(rng)
    pop.nominees = [pop.new_person() for _ in range(max(1, scale.enterprises // 25_000))]
    shared: list[str] = []
    for _ in range(scale.enterprises):
        pop.enterprises.append(_background_firm(pop, shared))
    return pop


def _registration_day(rng: random.Random) -> date:
    if rng.random() < PRE_PERIOD_SHARE:
        year = rng.choices(_YEARS, _YEAR_WEIGHTS)[0]
        return date(year, 1, 1) + timedelta(days=rng.randrange(365))
    return START + timedelta(days=rng.randrange((END - START).days - 20))


def _address(pop: Population, shared: list[str]) -> tuple[str, bool]:
    """An address for a new background firm, and whether it is a mega address."""
    rng = pop.rng
    u = rng.random()
    if u < MEGA_SHARE:
        mega = rng.choice(MEGA_ADDRESSES)
        return (samples.variant_spelling(mega, rng) if rng.random() < 0.2 else mega), True
    if u < MEGA_SHARE + SHARED_SHARE:
        if shared and rng.random() < 0.6:
            return rng.choice(shared), False
        shared.append(pop.new_address())
        if len(shared) > 50:
            shared.pop(0)
        return shared[-1], False
    return pop.new_address(), False


def _reuse(pop: Population, registered_on: date) -> Person | None:
    """Now and then a person who already serves a firm or two (never a fifth)."""
    rng = pop.rng
    if len(pop.enterprises) < 10 or rng.random() >= 0.12:
        return None
    candidate = rng.choice(pop.enterprises).legal_rep
    if candidate.serves >= 3 or candidate in pop.nominees:
        return None
    if candidate.birth > years_before(registered_on, MIN_AGE):
        return None
    return candidate


def _background_firm(pop: Population, shared: list[str]) -> Enterprise:
    rng = pop.rng
    registered_on = _registration_day(rng)
    address, mega = _address(pop, shared)
    tier = Tier(rng.choices((0, 1, 2), TIER_WEIGHTS)[0])
    if mega and rng.random() < 0.5:
        tier = Tier.HIGH
    rep = _reuse(pop, registered_on) or pop.new_person(latest_birth=registered_on)
    if mega and rng.random() < 0.3:
        rep = rng.choice(pop.nominees)
    officers = [(pop.new_person(latest_birth=registered_on), "supervisor")]
    if rng.random() < 0.5:
        officers.append((rep, "manager"))
    if rng.random() < 0.3:
        officers.append((pop.new_person(latest_birth=registered_on), "finance_officer"))
    for person in {id(p): p for p in [rep] + [p for p, _ in officers]}.values():
        person.serves += 1
    capital = rng.choices(_CAPITALS, _CAPITAL_WEIGHTS)[0]
    zero_paid = rng.random() < (0.75 if tier is Tier.HIGH else 0.4)
    paid = 0.0 if zero_paid else round(capital * rng.choice((0.1, 0.2, 0.5, 1.0)), 2)
    pays = rng.random() < (0.85, 0.7, 0.45)[tier]
    return Enterprise(
        uscc=pop.new_uscc(),
        name=pop.new_company_name(),
        registered_on=registered_on,
        capital_registered=capital,
        capital_paid=paid,
        industry=rng.choices(_INDUSTRY_CODES, _INDUSTRY_WEIGHTS)[0],
        address=address,
        phone=samples.make_phone(rng),
        legal_rep=rep,
        officers=officers,
        shareholders=_shareholders(pop, rep),
        tier=tier,
        pays_tax=pays,
        employees=int(rng.lognormvariate(2.0, 1.1)) + 1 if pays else 0,
        revenue=round(rng.lognormvariate(11.0, 1.2), 2) if pays else 0.0,
    )


def _shareholders(pop: Population, rep: Person) -> list[Holding]:
    rng = pop.rng
    holders: list[Holding] = []
    if rng.random() < 0.65:
        holders.append(Holding(rep.name, 0.0, person=rep))
    for _ in range(rng.choice((0, 1, 1, 2)) if holders else rng.choice((1, 2))):
        other = pop.new_person()
        holders.append(Holding(other.name, 0.0, person=other))
    if pop.enterprises and rng.random() < 0.1:
        parent = rng.choice(pop.enterprises)
        holders.append(Holding(parent.name, 0.0, uscc=parent.uscc))
    return with_stakes(holders, rng)


def with_stakes(holders: list[Holding], rng: random.Random) -> list[Holding]:
    """The same holders with stakes that add up to 100%."""
    weights = [rng.randint(1, 10) for _ in holders]
    total = sum(weights)
    stakes = [round(100.0 * w / total, 2) for w in weights]
    stakes[0] = round(100.0 - sum(stakes[1:]), 2)
    return [Holding(h.name, s, h.person, h.uscc) for h, s in zip(holders, stakes, strict=True)]
