"""Planted cases of the rules that read hubs: firms sharing an address, a person serving
many firms, and the shell companies that combine them with other signs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from simulate.plant import Planter, days
from simulate.population import Enterprise, Person
from simulate.samples import variant_spelling

CLUSTER = "same_address_cluster"
CHURN = "frequent_shareholder_change"
MANY = "person_many_companies"
UNREACHABLE = "unreachable_contact"
SHELL = "shell_company"


# -- same_address_cluster -------------------------------------------------------------------


def cluster_ring(p: Planter) -> None:
    a = p.anchor(span=70)
    address = p.address()
    for i in range(6):
        p.firm(a + days(12 * i), address=address if i == 0 else variant_spelling(address, p.rng))
    p.expect(CLUSTER, address, "6家企业60天内以不同写法登记于同一地址")


def _cluster(
    p: Planter, offsets: Sequence[int], *, span: int, lead: int = 0
) -> tuple[date, str, list[Enterprise]]:
    """An anchor (``lead`` days of the period before it, ``span`` after), a new address,
    and firms registered there ``offsets`` days from the anchor."""
    a = p.anchor(lead=lead, span=span)
    address = p.address()
    return a, address, [p.firm(a + days(d), address=address) for d in offsets]


def cluster_window_edge(p: Planter) -> None:
    _, address, _ = _cluster(p, (-400, -300, 0, 90, 180), span=190, lead=400)
    p.expect(CLUSTER, address, "5家，第3家恰在最新一家登记前180天（含端点）")


def cluster_moved_in(p: Planter) -> None:
    a = p.anchor(lead=400, span=150)
    address = p.address()
    mover = p.firm(a - days(400))
    for d in (0, 30, 60, 90):
        p.firm(a + days(d), address=address)
    p.at(a + days(140), p.emit.changed, mover, "address_registered", mover.address, address)
    p.expect(CLUSTER, address, "4家近期登记，第5家变更注册地址迁入")


def cluster_four(p: Planter) -> None:
    _, address, _ = _cluster(p, (0, 20, 40, 60), span=70)
    p.forbid(CLUSTER, address, "只有4家（阈值5家）")


def cluster_day_outside(p: Planter) -> None:
    _, address, _ = _cluster(p, (-400, -300, -1, 170, 180), span=190, lead=400)
    p.forbid(CLUSTER, address, "5家，但第3家在最新一家前181天：窗口内只有2家")


def cluster_after_deregistration(p: Planter) -> None:
    a, address, firms = _cluster(p, (0, 20, 40, 60), span=150)
    p.deregister(a + days(100), firms[0])
    p.firm(a + days(140), address=address)
    p.forbid(CLUSTER, address, "第5家登记时第1家已注销：未注销的只有4家")


# -- person_many_companies ------------------------------------------------------------------


def _front(p: Planter, firms: int, *, span: int) -> tuple[date, Person, list[Enterprise]]:
    """An anchor (``span`` days of the period after it), a new person, and ``firms`` firms
    with that person as legal representative, one every 40 days from the anchor."""
    a = p.anchor(span=span)
    front = p.person()
    return a, front, [p.firm(a + days(40 * i), rep=front) for i in range(firms)]


def front_man(p: Planter) -> None:
    _, front, _ = _front(p, 5, span=170)
    p.expect(MANY, front, "一人担任5家企业法定代表人")


def front_man_mixed_roles(p: Planter) -> None:
    a, front, _ = _front(p, 3, span=170)
    for i in (3, 4):
        p.firm(a + days(40 * i), officers=[(front, "director")])
    p.expect(MANY, front, "一人任3家法定代表人、2家董事")


def front_man_by_change(p: Planter) -> None:
    a = p.anchor(lead=100, span=150)
    front = p.person()
    other = p.firm(a - days(100))
    for i in range(4):
        p.firm(a + days(25 * i), rep=front)
    p.at(a + days(140), p.emit.changed, other, "legal_rep", other.legal_rep.wire(), front.wire())
    p.expect(MANY, front, "任4家法定代表人后，又经变更成为第5家的法定代表人")


def front_man_four(p: Planter) -> None:
    _, front, _ = _front(p, 4, span=130)
    p.forbid(MANY, front, "只任4家（阈值5家）")


def front_man_after_deregistration(p: Planter) -> None:
    a, front, firms = _front(p, 4, span=250)
    p.deregister(a + days(200), firms[0])
    p.firm(a + days(240), rep=front)
    p.forbid(MANY, front, "第5家登记时其中1家已注销：未注销的只有4家")


def shareholder_of_six(p: Planter) -> None:
    a = p.anchor(span=160)
    holder = p.person()
    for i in range(6):
        rep = p.person()
        p.firm(a + days(30 * i), rep=rep, holders=[holder, rep])
    p.forbid(MANY, holder, "只是6家企业的股东，不是法定代表人或高管")


# -- shell_company --------------------------------------------------------------------------


def shell_ring(p: Planter) -> None:
    a = p.anchor(span=160)
    address, front = p.address(), p.person()
    firms = [
        p.firm(
            a + days(30 * i),
            address=address if i == 0 else variant_spelling(address, p.rng),
            rep=front,
            capital_paid=0.0,
        )
        for i in range(6)
    ]
    for firm in firms[4:]:
        p.expect(SHELL, firm, "新设、实缴0元，地址聚集且法定代表人控制多家企业")
    p.expect(CLUSTER, address, "空壳企业聚集地址")
    p.expect(MANY, front, "空壳企业的挂名法定代表人")


def _shell(p: Planter, *, capital_paid: float, start: int, fails: int, churn: bool) -> Enterprise:
    a = p.anchor(span=start + 130)
    firm = p.firm(a, capital_paid=capital_paid)
    p.at(a + days(start), p.emit.abnormal_listed, firm, "annual_report_missing", "未报送年度报告")
    if churn:
        for d in (40, 60, 80):
            p.at(a + days(start + d), p.emit.changed, firm, "shareholders", None, p.new_holders())
    for i in range(fails):
        p.at(a + days(start + 80 + 40 * i), p.emit.contact_failed, firm, "tax", "phone")
    if fails >= 2:
        p.expect(UNREACHABLE, firm, "180天内2次联系失败")
    return firm


def shell_listed_unreachable(p: Planter) -> None:
    firm = _shell(p, capital_paid=0.0, start=40, fails=2, churn=False)
    p.expect(SHELL, firm, "新设、实缴0元，异常名录+无法联系")


def shell_churn_unreachable(p: Planter) -> None:
    firm = _shell(p, capital_paid=0.0, start=40, fails=2, churn=True)
    p.expect(SHELL, firm, "新设、实缴0元，股东频繁变更+异常名录+无法联系")
    p.expect(CHURN, firm, "40天内3次股东变更")


def shell_paid_in(p: Planter) -> None:
    firm = _shell(p, capital_paid=10_000.0, start=40, fails=2, churn=False)
    p.forbid(SHELL, firm, "实缴资本1万元，不是0")


def shell_one_indicator(p: Planter) -> None:
    firm = _shell(p, capital_paid=0.0, start=40, fails=0, churn=False)
    p.forbid(SHELL, firm, "新设、实缴0元，但只有异常名录1项")


def shell_too_old(p: Planter) -> None:
    firm = _shell(p, capital_paid=0.0, start=370, fails=2, churn=False)
    p.forbid(SHELL, firm, "指标出现时已成立超过365天")
