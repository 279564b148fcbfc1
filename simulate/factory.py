"""Contract-shaped input events, as a department would produce them (``events.md``).

Used by the demo feed, the benchmark and the tests; produces plain dicts ready for
``orjson.dumps``. Every event gets a fresh ``id`` from the factory's counter, so a
factory with the same seed produces the same stream.

>>> f = EventFactory(source="samr-test")
>>> ev = f.event("enterprise.deregistered", "91440300MA5DA1B2XK", {"reason": "注销"})
>>> ev["type"], ev["id"], ev["subject"]
('enterprise.deregistered', 'samr-test-1', '91440300MA5DA1B2XK')
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from simulate import samples


def person(id_number: str, name: str, role: str | None = None) -> dict[str, Any]:
    out = {"id_number": id_number, "name": name}
    if role is not None:
        out["role"] = role
    return out


@dataclass
class EventFactory:
    source: str = "riskwire-demo"
    seed: int = 7
    start: datetime = field(default_factory=lambda: datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def event(
        self, etype: str, subject: str, data: dict[str, Any], *, time: datetime | None = None
    ) -> dict[str, Any]:
        return {
            "specversion": "1.0",
            "id": f"{self.source}-{next(self._ids)}",
            "source": self.source,
            "type": etype,
            "subject": subject,
            "time": (time or self.start).isoformat(),
            "datacontenttype": "application/json",
            "data": data,
        }

    # -- identities -------------------------------------------------------------------

    def uscc(self) -> str:
        return samples.make_uscc(self.rng)

    def person(self, role: str | None = None, *, birth: date | None = None) -> dict[str, Any]:
        return person(
            samples.make_id_number(self.rng, birth=birth),
            samples.make_person_name(self.rng),
            role,
        )

    # -- registration -----------------------------------------------------------------

    def registered(
        self,
        uscc: str | None = None,
        *,
        legal_rep: dict[str, Any] | None = None,
        officers: list[dict[str, Any]] | None = None,
        address: str | None = None,
        registered_on: date | None = None,
        capital_paid: float = 1_000_000.0,
        time: datetime | None = None,
    ) -> dict[str, Any]:
        uscc = uscc or self.uscc()
        when = time or self.start
        rep = legal_rep or self.person()
        rep = {k: v for k, v in rep.items() if k != "role"}
        return self.event(
            "enterprise.registered",
            uscc,
            {
                "uscc": uscc,
                "name": samples.make_company_name(self.rng),
                "registered_on": (registered_on or when.date()).isoformat(),
                "capital_registered": max(capital_paid, 1_000_000.0),
                "capital_paid": capital_paid,
                "industry_code": "I6510",
                "address_registered": address or samples.make_address(self.rng),
                "phone": samples.make_phone(self.rng),
                "legal_rep": rep,
                "officers": officers if officers is not None else [self.person("director")],
                "shareholders": [
                    {
                        "holder_type": "person",
                        "name": rep["name"],
                        "stake_pct": 100.0,
                        "person": rep,
                    }
                ],
            },
            time=when,
        )

    def changed(
        self, uscc: str, field_name: str, new: Any, *, time: datetime | None = None
    ) -> dict[str, Any]:
        return self.event(
            "enterprise.changed", uscc, {"field": field_name, "old": None, "new": new}, time=time
        )

    # -- court ------------------------------------------------------------------------

    def debtor_listed_person(
        self,
        who: dict[str, Any],
        *,
        case_no: str = "(2026)粤0305执1234号",
        amount: float = 350_000.0,
        time: datetime | None = None,
    ) -> dict[str, Any]:
        return self.event(
            "debtor.listed",
            "P:" + who["id_number"],
            {
                "case_no": case_no,
                "court": "深圳市南山区人民法院",
                "debtor_type": "person",
                "person": {k: v for k, v in who.items() if k != "role"},
                "obligation": "支付货款及利息",
                "amount": amount,
            },
            time=time,
        )

    def case_filed(
        self, uscc: str, *, role: str = "defendant", time: datetime | None = None
    ) -> dict[str, Any]:
        n = self.rng.randrange(1000, 9999)
        return self.event(
            "case.filed",
            uscc,
            {
                "case_no": f"(2026)粤0305民初{n}号",
                "court": "深圳前海合作区人民法院",
                "case_type": "civil",
                "role": role,
                "amount": float(self.rng.randrange(10_000, 900_000)),
            },
            time=time,
        )

    # -- tax --------------------------------------------------------------------------

    def tax_arrears(
        self, uscc: str, amount: float, *, time: datetime | None = None
    ) -> dict[str, Any]:
        since = (time or self.start).date() - timedelta(days=60)
        return self.event(
            "tax.arrears", uscc, {"amount": amount, "since": since.isoformat()}, time=time
        )

    def tax_paid(self, uscc: str, *, time: datetime | None = None) -> dict[str, Any]:
        when = time or self.start
        return self.event(
            "tax.paid",
            uscc,
            {
                "period": when.strftime("%Y-%m"),
                "amount": float(self.rng.randrange(1_000, 200_000)),
                "tax_type": "增值税",
            },
            time=time,
        )

    def employment(self, uscc: str, *, time: datetime | None = None) -> dict[str, Any]:
        when = time or self.start
        return self.event(
            "employment.reported",
            uscc,
            {"period": when.strftime("%Y-%m"), "insured_employees": self.rng.randrange(1, 300)},
            time=time,
        )

    # -- enforcement ------------------------------------------------------------------

    def inspection(
        self,
        uscc: str,
        *,
        department: str = "samr",
        violation: bool | None = None,
        time: datetime | None = None,
    ) -> dict[str, Any]:
        n = next(self._ids)
        return self.event(
            "inspection.recorded",
            uscc,
            {
                "inspection_id": f"INS-{n}",
                "department": department,
                "inspector_id": f"E{n % 97:03d}",
                "kind": "routine",
                "found_at_address": True,
                "violation_found": violation,
                "notes": "现场检查",
            },
            time=time,
        )
