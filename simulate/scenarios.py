"""Planted cases: for every rule of ``alerts.md``, cases that must fire and near-misses
(one below a threshold, one day outside a window, a fact that no longer holds) that must
not. A case is a function of a :class:`~simulate.plant.Planter`, which picks its
anchor day, so every copy of a case lands elsewhere in the period. The cases live in
:mod:`simulate.cases`, by the kind of fact their rules read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from simulate.cases import firms, grades, hubs, people
from simulate.plant import Planter

Case = Callable[[Planter], None]

CASES: Final[tuple[Case, ...]] = (
    # same_address_cluster: fire, then must not
    hubs.cluster_ring, hubs.cluster_window_edge, hubs.cluster_moved_in,
    hubs.cluster_four, hubs.cluster_day_outside, hubs.cluster_after_deregistration,
    # frequent_shareholder_change
    firms.churn_edge, firms.churn_day_outside, firms.churn_twice,
    # person_many_companies
    hubs.front_man, hubs.front_man_mixed_roles, hubs.front_man_by_change,
    hubs.front_man_four, hubs.front_man_after_deregistration, hubs.shareholder_of_six,
    # dishonest_officer
    people.listed_then_appointed, people.appointed_then_listed, people.criminal_legal_rep,
    people.appointed_by_change,
    people.removed_then_appointed, people.civil_case_officer, people.listed_shareholder,
    # abnormal_officer_age
    people.minor_legal_rep, people.turns_75_that_day, people.elderly_officer_appointed,
    people.turns_18_that_day, people.aged_74_until_the_end,
    # unreachable_contact
    firms.failures_edge, firms.listed_unreachable,
    firms.failures_day_outside, firms.single_failure, firms.listed_for_annual_report,
    # litigation_surge
    firms.lawsuits_edge, firms.lawsuits_day_outside, firms.lawsuits_as_plaintiff,
    # tax_arrears
    firms.arrears_at_threshold, firms.arrears_cleared_later, firms.rated_d,
    firms.arrears_just_below, firms.arrears_well_below, firms.rated_c,
    # grade_downgrade
    grades.falls_to_d, grades.steady_contributor,
    # multi_department_attention
    firms.two_departments_edge, firms.penalty_and_failed_contact,
    firms.two_departments_day_outside, firms.one_department_twice,
    # shell_company
    hubs.shell_ring, hubs.shell_listed_unreachable, hubs.shell_churn_unreachable,
    hubs.shell_paid_in, hubs.shell_one_indicator, hubs.shell_too_old,
    # early_warning (a model)
    grades.high_risk, grades.low_risk,
)  # fmt: skip


def plant_cases(p: Planter, copies: int) -> None:
    """Plant ``copies`` copies of every case."""
    for copy in range(1, copies + 1):
        for case in CASES:
            p.case = f"{case.__name__}#{copy}"
            case(p)
