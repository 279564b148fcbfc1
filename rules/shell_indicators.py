"""The indicators of ``shell_company``, each another rule's predicate, run with that rule's
configured thresholds (:class:`Peers`), so that no rule's logic is written twice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from rules import frequent_shareholder_change as fsc
from rules import person_many_companies as pmc
from rules import same_address_cluster as sac
from rules import unreachable_contact as uc
from rules.base import Facts, ParamsSource
from rules.params import (
    FrequentShareholderChangeParams,
    PersonManyCompaniesParams,
    SameAddressClusterParams,
    UnreachableContactParams,
)
from rules.windows import business_day
from streams.profile import Touch
from streams.profile_store import Hub


@dataclass(frozen=True, slots=True)
class Peers:
    """The thresholds of the rules whose predicates are indicators (their defaults unless
    configured)."""

    cluster: SameAddressClusterParams = field(default_factory=SameAddressClusterParams)
    changes: FrequentShareholderChangeParams = field(
        default_factory=FrequentShareholderChangeParams
    )
    contact: UnreachableContactParams = field(default_factory=UnreachableContactParams)
    person: PersonManyCompaniesParams = field(default_factory=PersonManyCompaniesParams)

    @classmethod
    def of(cls, config: ParamsSource) -> Peers:
        """The peers' thresholds ``config`` holds."""
        return cls(
            cluster=config.params_of(sac.SameAddressCluster),
            changes=config.params_of(fsc.FrequentShareholderChange),
            contact=config.params_of(uc.UnreachableContact),
            person=config.params_of(pmc.PersonManyCompanies),
        )


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


def indicators(facts: Facts, peers: Peers) -> list[Indicator]:
    """The shell-company indicators that hold for ``facts.enterprise``."""
    ent, out = facts.enterprise, list[Indicator]()
    if sac.recent_cluster(facts.address_hub(), peers.cluster):
        out.append(
            (f"注册地址为同址聚集地址（{peers.cluster.min_enterprises}家及以上企业）", (), "")
        )
    changes = peers.changes
    if burst := fsc.change_burst(ent, changes.min_changes, changes.window_days):
        out.append(
            (f"{changes.window_days}天内股东变更{len(burst)}次", burst, "enterprise.changed")
        )
    contact = peers.contact
    if failures := uc.failure_burst(ent, contact.min_failures, contact.window_days):
        out.append(
            (f"{contact.window_days}天内联系失败{len(failures)}次", failures, "contact.failed")
        )
    elif uc.unreachable_listing(ent):
        out.append(("通过登记的住所无法联系", (), ""))
    if ent.abnormal is not None:
        out.append((f"{business_day(ent.abnormal.since)}起被列入经营异常名录", (), ""))
    rep = ent.legal_rep
    hub = facts.person_hub(rep.key) if rep is not None else None
    if rep and hub and pmc.serves_many(hub, peers.person.min_enterprises):
        out.append((f"法定代表人{rep.name}担任{hub.size}家企业的法定代表人或高管", (), ""))
    return out
