"""Scores as the API shows them: a unit's explained score, the leaderboard, staff totals.

The explanation runs total -> items -> sub-items -> indicators -> deductions, each deduction
with its id, status and the finding it came from; target indicators name their measurement.
"""

from __future__ import annotations

import uuid
from typing import Literal

import msgspec

from api.schemas.scoring import DeductionStatus
from scoring import MeasurementUse, StagedWarning

__all__ = [
    "Basis",
    "ScoredDeduction",
    "IndicatorScore",
    "SubItemScore",
    "ItemScore",
    "VetoRef",
    "UnitScore",
    "ItemPoints",
    "LeaderboardRow",
    "Leaderboard",
    "StaffCharge",
    "StaffTotal",
]

Basis = Literal["provisional", "confirmed"]
WarningLevel = Literal["watch", "warning", "serious_warning"]


class ScoredDeduction(msgspec.Struct, kw_only=True):
    """One deduction's part in an indicator. ``points`` are those counted (the rule's, or the
    adjusted points); ``counted`` is false for a lower award superseded by a higher one."""

    deduction_id: uuid.UUID
    finding_id: uuid.UUID | None
    status: DeductionStatus
    points: float
    effect: Literal["deduct", "add", "veto"]
    counted: bool
    staff: list[str]
    explanation: str


class IndicatorScore(msgspec.Struct, kw_only=True):
    code: str
    name: str
    name_en: str
    rule: str
    deducted: float
    added: float
    capped: bool
    deductions: list[ScoredDeduction]
    measurement: MeasurementUse | None
    missing_measurement: bool
    warning: StagedWarning | None


class SubItemScore(msgspec.Struct, kw_only=True):
    code: str
    name: str
    name_en: str
    deducted: float
    added: float
    indicators: list[IndicatorScore]


class ItemScore(msgspec.Struct, kw_only=True):
    """``score``: the item's score (scored items), the bonus kept (bonus) or the points taken
    off the total (penalty)."""

    code: str
    name: str
    name_en: str
    kind: Literal["scored", "bonus", "penalty"]
    points: float | None
    deducted: float
    added: float
    score: float
    floored: bool
    capped: bool
    indicators: list[IndicatorScore]
    sub_items: list[SubItemScore]


class VetoRef(msgspec.Struct, kw_only=True):
    indicator: str
    deduction_id: uuid.UUID
    finding_id: uuid.UUID | None


class UnitScore(msgspec.Struct, kw_only=True):
    """A unit's score in a period, on one basis, under the period's pinned versions.
    Grade and lines follow the scheme's grading; rank, commended and flagged are among all
    the units the period assesses."""

    period_code: str
    unit_code: str
    unit_name: str
    basis: Basis
    catalog_code: str
    catalog_version: int
    scheme_code: str
    scheme_version: int
    scale: float
    total: float
    scored_total: float
    bonus: float
    bonus_capped: bool
    penalty: float
    vetoed: bool
    vetoes: list[VetoRef]
    warnings: list[StagedWarning]
    missing_metrics: list[str]
    grade: str | None
    passed: bool | None
    accountability: bool | None
    rank: int
    commended: bool
    flagged: bool
    items: list[ItemScore]


class ItemPoints(msgspec.Struct, kw_only=True):
    code: str
    score: float


class LeaderboardRow(msgspec.Struct, kw_only=True):
    """``warning_level``: the gravest staged-target warning; ``warnings``: how many lag."""

    rank: int
    unit_code: str
    unit_name: str
    total: float
    items: list[ItemPoints]
    grade: str | None
    passed: bool | None
    accountability: bool | None
    commended: bool
    flagged: bool
    vetoed: bool
    warning_level: WarningLevel | None
    warnings: int


class Leaderboard(msgspec.Struct, kw_only=True):
    period_code: str
    basis: Basis
    catalog_code: str
    catalog_version: int
    scheme_code: str
    scheme_version: int
    items: list[LeaderboardRow]
    total: int
    limit: int
    offset: int


class StaffCharge(msgspec.Struct, kw_only=True):
    deduction_id: uuid.UUID
    finding_id: uuid.UUID | None
    unit_code: str
    indicator: str
    points: float
    role: Literal["responsible", "head_failed_to_deduct"]


class StaffTotal(msgspec.Struct, kw_only=True):
    staff: str
    points: float
    charges: list[StaffCharge]
