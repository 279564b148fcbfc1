"""Which rules exist: the rule classes riskwire runs, and every rule id's params model.

Adding a rule: write its params model in :mod:`rules.params` and ``rules/<rule_id>.py``
with the class (``class MyRule(Rule[MyRuleParams])``), then add the class to
``RULE_CLASSES``. A rule id may be known before its class is registered
(``PENDING_PARAMS``), so that a rules file may already configure it; registering the
class replaces the pending entry (delete it).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from rules.abnormal_officer_age import AbnormalOfficerAge
from rules.base import Rule
from rules.dishonest_officer import DishonestOfficer
from rules.early_warning import EarlyWarning
from rules.frequent_shareholder_change import FrequentShareholderChange
from rules.grade_downgrade import GradeDowngrade
from rules.litigation_surge import LitigationSurge
from rules.multi_department_attention import MultiDepartmentAttention
from rules.params import RuleParams
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

PENDING_PARAMS: Final[Mapping[str, type[RuleParams]]] = {}


def _params_models() -> Mapping[str, type[RuleParams]]:
    known = {**PENDING_PARAMS, **{cls.rule_id: cls.params_model for cls in RULE_CLASSES}}
    return MappingProxyType({rid: known[rid] for rid in RULE_IDS})


PARAMS_MODELS: Final = _params_models()
"""Every rule id's params model, in the catalog's order."""

DEFAULT_PARAMS: Final[Mapping[str, RuleParams]] = MappingProxyType(
    {rid: model() for rid, model in PARAMS_MODELS.items()}
)
"""Every rule id's thresholds when nothing configures them: its model's defaults."""
