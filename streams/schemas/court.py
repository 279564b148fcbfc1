"""``court.filings``: cases, people in cases, and the dishonest judgment debtor list."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, model_validator

from streams.schemas.common import Data, Money, Person, Prose, Text, Uscc

CaseType = Literal["civil", "criminal", "administrative", "enforcement"]


class CaseFiled(Data):
    case_no: Text
    court: Text
    case_type: CaseType
    role: Literal["defendant", "plaintiff", "third_party", "executed_person"]
    amount: Money | None = None


class CaseClosed(Data):
    case_no: Text
    outcome: Prose = ""


class PersonCaseInvolved(Data):
    person: Person
    case_no: Text
    case_type: CaseType


class DebtorListed(Data):
    case_no: Text
    court: Text
    debtor_type: Literal["person", "enterprise"]
    person: Person | None = None
    uscc: Uscc | None = None
    obligation: Prose = ""
    amount: Money | None = None

    @model_validator(mode="after")
    def _debtor_named(self) -> DebtorListed:
        if self.debtor_type == "person" and self.person is None:
            raise ValueError("a person debtor needs 'person'")
        return self


class DebtorRemoved(Data):
    case_no: Text
    reason: Literal["performed", "credit_repair", "revoked"]
    debtor_type: Literal["person", "enterprise"] | None = None
    person: Person | None = None
    uscc: Uscc | None = None


MODELS: dict[str, type[BaseModel]] = {
    "case.filed": CaseFiled,
    "case.closed": CaseClosed,
    "person.case_involved": PersonCaseInvolved,
    "debtor.listed": DebtorListed,
    "debtor.removed": DebtorRemoved,
}

# Types whose subject may be a person (``P:`` + id_number) rather than an enterprise.
PERSON_SUBJECT_TYPES = frozenset({"person.case_involved", "debtor.listed", "debtor.removed"})
# Types whose subject must be a person.
PERSON_ONLY_TYPES = frozenset({"person.case_involved"})
