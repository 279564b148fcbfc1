"""The indicators of ``shell_company``, each another rule's predicate, run with that rule's
configured thresholds (``peers``), so that no rule's logic is written twice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from rules import frequent_shareholder_change as fsc
from rules import person_many_companies as pmc
from rules import same_address_cluster as sac
from rules import unreachable_contact as uc
from rules.base import Facts
from rules.windows import business_day
from streams.profile import Touch
from streams.profile_store import Hub

PEER_DEFAULTS: Final[Mapping[str, Mapping[str, Any]]] = {
    "same_address_cluster": sac.DEFAULTS,
    "frequent_shareholder_change": fsc.DEFAULTS,
    "unreachable_contact": uc.DEFAULTS,
    "person_many_companies": pmc.DEFAULTS,
}


Indicator = tuple[str, Sequence[Touch], str]  # zh-CN text, dated facts behind it, their type


def as_of(facts: Facts, at: datetime) -> Facts:
    """``facts`` as they stood at ``at``: the dated facts of the enterprise up to then, and
    its address hub without the members registered after that day (members of unknown
    registration day stay). A fact that arrives late then counts as if in time."""
    ent = facts.enterprise
    listed = ent.abnormal if ent.abnormal is not None and ent.abnormal.since <= at else None
    then = ent.model_copy(
        update={
            "contact_failures": [t for t in ent.contact_failures if t.time <= at],
            "shareholder_changes": [t for t in ent.shareholder_changes if t.time <= at],
            "abnormal": listed,
        }
    )
    hubs = dict(facts.hubs)
    if (hub := facts.address_hub()) is not None:
        day = business_day(at).toordinal()
        members = [(u, score) for u, score in hub.members if score <= day]
        hubs[hub.index] = Hub(hub.index, hub.size - (len(hub.members) - len(members)), members)
    return replace(facts, enterprise=then, hubs=hubs)


def indicators(facts: Facts, peers: Mapping[str, Mapping[str, Any]]) -> list[Indicator]:
    """The shell-company indicators that hold for ``facts.enterprise``."""
    ent, out = facts.enterprise, list[Indicator]()
    cluster = peers["same_address_cluster"]
    if sac.recent_cluster(facts.address_hub(), **cluster):
        out.append((f"注册地址为同址聚集地址（{cluster['min_enterprises']}家及以上企业）", (), ""))
    changes = peers["frequent_shareholder_change"]
    if burst := fsc.change_burst(ent, **changes):
        out.append(
            (f"{changes['window_days']}天内股东变更{len(burst)}次", burst, "enterprise.changed")
        )
    contact = peers["unreachable_contact"]
    if failures := uc.failure_burst(ent, **contact):
        out.append(
            (f"{contact['window_days']}天内联系失败{len(failures)}次", failures, "contact.failed")
        )
    elif uc.unreachable_listing(ent):
        out.append(("通过登记的住所无法联系", (), ""))
    if ent.abnormal is not None:
        out.append((f"{business_day(ent.abnormal.since)}起被列入经营异常名录", (), ""))
    rep = ent.legal_rep
    hub = facts.person_hub(rep.key) if rep is not None else None
    if rep and hub and pmc.serves_many(hub, **peers["person_many_companies"]):
        out.append((f"法定代表人{rep.name}担任{hub.size}家企业的法定代表人或高管", (), ""))
    return out
