"""The shapes of ``/api/v1/rules/shadow``: the candidate in shadow, its live/shadow diff
and a promotion."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ShadowPublic(BaseModel):
    version: str = Field(
        description="the candidate's rules version (r-…, as RulesConfig.version): the live "
        "rules' version once it is promoted"
    )
    generation: int = Field(description="+1 on every load, drop and promotion")
    loaded_at: str
    loaded_by: str
    rules: dict[str, dict[str, Any]] = Field(
        description="the candidate's tables as loaded ({rule_id: {key: value, enabled}})"
    )
    thresholds: dict[str, dict[str, Any]] = Field(
        description="what each rule runs with in shadow (defaults where the candidate is silent)"
    )
    disabled: list[str] = Field(description="rules the candidate turns off")
    grading: dict[str, Any] = Field(
        default_factory=dict,
        description="the grade weights and cut-offs the candidate grades with (its [grading] "
        "table over the defaults)",
    )


class RuleDiffPublic(BaseModel):
    rule_id: str
    departments: list[str] = Field(description="the departments the rule's alerts go to")
    added: int = Field(description="alerts only the shadow raised")
    dropped: int = Field(description="alerts only the live rules raised")


class DepartmentDiffPublic(BaseModel):
    department: str
    added: int
    dropped: int


class ShadowExample(BaseModel):
    fingerprint: str
    rule_id: str
    subject: dict[str, str]
    severity: str | None = None
    title: str | None = None
    enterprises: list[str] = Field(default_factory=list)
    event_id: str
    event_type: str
    event_time: str


class GradeTransitionPublic(BaseModel):
    live: str = Field(description="the letter under the live rules")
    shadow: str = Field(description="the letter under the candidate")
    enterprises: int


class GradeSidePublic(BaseModel):
    grade: str
    score: float


class GradeExamplePublic(BaseModel):
    uscc: str
    live: GradeSidePublic
    shadow: GradeSidePublic
    at: str = Field(description="the business time of the latest grading (UTC)")


class ShadowGradesPublic(BaseModel):
    tracked: int = Field(description="enterprises graded under both since the load")
    untracked: int = Field(description="enterprises seen after the cap was reached")
    changed: int = Field(description="enterprises whose latest letters differ")
    transitions: list[GradeTransitionPublic] = Field(
        description="enterprises per (live letter, shadow letter), the diagonal included"
    )
    matrix: dict[str, dict[str, int]] = Field(
        description="the same as {live letter: {shadow letter: enterprises}}, A-D each"
    )
    examples: list[GradeExamplePublic] = Field(description="enterprises whose letters differ")
    next_cursor: str | None = Field(description="pass as grade_cursor for the next page")


class ShadowDiffPublic(BaseModel):
    loaded: bool = Field(description="whether a candidate is in shadow")
    version: str | None = Field(description="the candidate's rules version")
    generation: int | None
    loaded_at: str | None
    config_version: int = Field(description="the live rules' config_version")
    live_version: str = Field(default="", description="the live rules' version (r-…)")
    tracked: int = Field(description="alerts (fingerprints) followed since the load")
    untracked: int = Field(
        description="alerts seen after RISKWIRE_SHADOW_MAX_ALERTS was reached (not counted)"
    )
    rules: list[RuleDiffPublic] = Field(description="each rule with a difference")
    departments: list[DepartmentDiffPublic]
    kind: str = Field(description="the kind of the examples: added or dropped")
    examples: list[ShadowExample]
    next_cursor: str | None = Field(description="pass as cursor for the next page")
    grades: ShadowGradesPublic | None = Field(
        default=None,
        description="grade letters live → shadow (empty unless the candidate grades "
        "with other weights or cut-offs)",
    )


class PromoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"generation": 3}]})

    generation: int | None = Field(
        default=None,
        ge=0,
        le=2**53,
        description="refuse (409) unless this is the shadow's generation (what was reviewed)",
    )


class PromotionPublic(BaseModel):
    version: str = Field(description="the rules version now live")
    config_version: int = Field(description="the live rules' new config_version")
    overrides: dict[str, dict[str, Any]] = Field(description="the live overrides now in force")
