"""``early_warning``: the online model's probability that an inspection would confirm a
violation is 0.8 or more.

The pipeline scores the enterprise for every event type in ``inputs`` (see
:mod:`rules.models`) and hands the score over as ``facts.warning``; this rule only decides.
It stays silent while the model has learned fewer than ``min_learned`` labels: an untrained
model's probabilities mean nothing yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar

from rules.base import Facts, Hit, Need, Rule, evidence_of
from rules.examples import Example, Kit
from rules.models.early_warning import Contribution, Warning
from rules.params import EarlyWarningParams
from streams.event import Event, Subject
from streams.profile import EnterpriseProfile
from streams.schemas.common import Family
from streams.schemas.enforcement import InspectionRecorded

TRIGGER_ZH = {
    "inspection.recorded": "检查记录",
    "penalty.imposed": "行政处罚",
    "contact.failed": "联系失败",
    "case.filed": "案件立案",
    "tax.arrears": "欠税",
    "enterprise.abnormal_listed": "列入经营异常名录",
    "debtor.listed": "列入失信被执行人名单",
    "person.case_involved": "高管涉案",
}


class EarlyWarning(Rule[EarlyWarningParams]):
    rule_id = "early_warning"
    version = 1
    inputs: ClassVar[frozenset[str]] = frozenset(TRIGGER_ZH)
    needs: ClassVar[frozenset[Need]] = frozenset({Need.PEOPLE})  # the features read them

    def evaluate(self, event: Event, facts: Facts) -> Sequence[Hit]:
        warning = facts.warning
        if not isinstance(warning, Warning):
            return ()
        p = self.params
        if warning.n_learned < p.min_learned or warning.probability < p.min_probability:
            return ()
        ent = facts.enterprise
        name = ent.name or ent.uscc
        factors = _factors(warning.contributions[: p.top_factors])
        auc = f"，先预测后学习的检验ROC AUC为{warning.auc:.2f}" if warning.auc is not None else ""
        fact = (
            f"{TRIGGER_ZH.get(event.type, event.type)}后重新评估，"
            f"违法违规概率{warning.probability:.1%}"
        )
        return (
            self.hit(
                subject_kind="enterprise",
                subject_id=ent.uscc,
                enterprises=[ent.uscc],
                title=f"{name}：在线模型预警违法风险",
                explanation=(
                    f"企业{name}（{ent.uscc}）经在线模型评估，检查发现违法违规的概率为"
                    f"{warning.probability:.1%}，达到预警阈值{p.min_probability:.0%}。"
                    f"主要推高因素：{factors}。"
                    f"模型已学习{warning.n_learned:,}条检查结论{auc}。"
                ),
                evidence=[evidence_of(event, fact)],
            ),
        )

    @classmethod
    def example(cls, kit: Kit | None = None) -> Example:
        """An inspection after which the model warns at 91.3% (for the rule contract suite;
        built from a fixed score, without the kit)."""
        return _example(0.913)

    @classmethod
    def counter_example(cls, kit: Kit | None = None) -> Example:
        """The same inspection, scored at 62.0%: below the threshold."""
        return _example(0.62)


def _factors(contributions: Sequence[Contribution]) -> str:
    if not contributions:
        return "无单项突出因素，整体基准风险较高"
    return "、".join(c.describe() for c in contributions)


_EXAMPLE_USCC = "91440300MA5DA1B2X1"
_EXAMPLE_TIME = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


def _example(probability: float) -> tuple[Event, Facts]:
    event = Event(
        id="enf-insp-20260302-0001",
        source="enforcement-test",
        type="inspection.recorded",
        time=_EXAMPLE_TIME,
        subject=Subject("enterprise", _EXAMPLE_USCC),
        data=InspectionRecorded(
            inspection_id="INSP-2026-0001",
            department="samr",
            inspector_id="I-0042",
            kind="random",
            found_at_address=False,
            violation_found=None,
        ),
        family=Family.ENFORCEMENT,
    )
    warning = Warning(
        probability=probability,
        anomaly_score=0.71,
        contributions=(
            Contribution("failed_contacts_180d", "近180天联系失败", 3.0, 1.42),
            Contribution("abnormal_listed", "被列入经营异常名录", 1.0, 1.05),
            Contribution("log_arrears", "欠缴税款", 12.765691, 0.61),
            Contribution("anomaly_score", "画像异常程度", 0.71, 0.22),
        ),
        n_learned=1_250,
        auc=0.86,
    )
    enterprise = EnterpriseProfile(uscc=_EXAMPLE_USCC, name="深圳市前海示例贸易有限公司")
    return event, Facts(enterprise=enterprise, warning=warning)
