"""Which rules exist: the rule classes riskwire runs, and every rule id's default thresholds.

Adding a rule: write ``rules/<rule_id>.py`` with the class and a module-level ``DEFAULTS``
dict, then add the class to ``RULE_CLASSES``. A rule id may be known before its class is
registered (``PENDING_DEFAULTS``), so that a rules file may already configure it;
registering the class replaces the pending entry (delete it).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from rules.abnormal_officer_age import AbnormalOfficerAge
from rules.base import Rule
from rules.dishonest_officer import DishonestOfficer
from rules.early_warning import EarlyWarning
from rules.frequent_shareholder_change import FrequentShareholderChange
from rules.grade_downgrade import GradeDowngrade
from rules.litigation_surge import LitigationSurge
from rules.multi_department_attention import MultiDepartmentAttention
from rules.person_many_companies import PersonManyCompanies
from rules.same_address_cluster import SameAddressCluster
from rules.shell_company import ShellCompany
from rules.tax_arrears import TaxArrears
from rules.unreachable_contact import UnreachableContact
from streams.rule_catalog import RULE_IDS

RULE_CLASSES: Final[tuple[type[Rule], ...]] = (
    SameAddressCluster,
    FrequentShareholderChange,
    PersonManyCompanies,
    DishonestOfficer,
    AbnormalOfficerAge,
    UnreachableContact,
    ShellCompany,
    LitigationSurge,
    TaxArrears,
    GradeDowngrade,
    MultiDepartmentAttention,
    EarlyWarning,
)

PENDING_DEFAULTS: Final[Mapping[str, Mapping[str, Any]]] = {}


def defaults_of(cls: type[Rule]) -> Mapping[str, Any]:
    """The module-level ``DEFAULTS`` of a rule class's module."""
    defaults: Mapping[str, Any] = vars(importlib.import_module(cls.__module__))["DEFAULTS"]
    return defaults


def _default_thresholds() -> Mapping[str, Mapping[str, Any]]:
    known = {**PENDING_DEFAULTS, **{cls.rule_id: defaults_of(cls) for cls in RULE_CLASSES}}
    return MappingProxyType({rid: MappingProxyType(dict(known[rid])) for rid in RULE_IDS})


DEFAULT_THRESHOLDS: Final = _default_thresholds()
