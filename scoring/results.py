"""What scoring returns: explainable scores, proposed deductions, staff totals.

Every score explains itself: a unit's total -> items -> sub-items ->
indicators -> lines, each line naming the finding id it came from (and target
indicators the measurement id), so ``api/`` can follow on to the evidence.
Points are floats with at most three decimals (exact milli-points inside).
"""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

__all__ = [
    "Line",
    "MeasurementUse",
    "StagedWarning",
    "IndicatorScore",
    "SubItemScore",
    "ItemScore",
    "VetoRef",
    "UnitScore",
    "ProposedDeduction",
    "StaffCharge",
    "StaffTotal",
    "ComponentResult",
    "SchemeResult",
]

Effect = Literal["deduct", "add", "veto"]


class _Out(Struct, frozen=True, kw_only=True):
    pass


class Line(_Out):
    """One finding's part in an indicator; ``counted`` is False for a superseded lower award."""

    finding: str
    points: float
    effect: Effect
    counted: bool
    status: str
    staff: tuple[str, ...]
    explanation: str


class MeasurementUse(_Out):
    id: str
    metric: str
    value: float
    source: str
    elapsed: float


class StagedWarning(_Out):
    """A lagging staged target: ``level`` is watch, warning or serious_warning."""

    indicator: str
    level: str
    stage_at: float
    stage_target: float
    value: float
    shortfall: float
    measurement: str


class IndicatorScore(_Out):
    """An indicator's part. ``capped``: its ``max_points`` was exceeded, or a
    target's addition stands at ``max_addition``."""

    code: str
    name: str
    name_en: str
    rule: str
    deducted: float
    added: float
    capped: bool
    lines: tuple[Line, ...] = ()
    measurement: MeasurementUse | None = None
    missing_measurement: bool = False
    warning: StagedWarning | None = None


class SubItemScore(_Out):
    code: str
    name: str
    name_en: str
    deducted: float
    added: float
    indicators: tuple[IndicatorScore, ...]


class ItemScore(_Out):
    """An item's result. ``score`` is the item score (scored), the bonus kept
    (bonus) or the points taken off the total (penalty). ``floored``: a scored
    item would have gone below zero; ``capped``: a bonus/penalty cap bit."""

    code: str
    name: str
    name_en: str
    kind: str
    points: float | None
    deducted: float
    added: float
    score: float
    floored: bool
    capped: bool
    indicators: tuple[IndicatorScore, ...]
    sub_items: tuple[SubItemScore, ...]


class VetoRef(_Out):
    indicator: str
    finding: str


class UnitScore(_Out):
    """A unit's score for one period under one catalog version.

    ``total = max(0, scored_total + bonus - penalty)``; ``bonus`` is after
    item caps and the catalog's ``bonus_cap``. Grade, lines and ranks are set
    when a grading / ranking was given.
    """

    unit: str
    period: str
    catalog: str
    catalog_version: int
    basis: str
    scale: float
    items: tuple[ItemScore, ...]
    scored_total: float
    bonus: float
    bonus_capped: bool
    penalty: float
    total: float
    vetoed: bool
    vetoes: tuple[VetoRef, ...]
    warnings: tuple[StagedWarning, ...]
    missing_metrics: tuple[str, ...]
    grade: str | None = None
    passed: bool | None = None
    accountability: bool | None = None
    rank: int | None = None
    commended: bool | None = None
    flagged: bool | None = None


class ProposedDeduction(_Out):
    """The points a finding is worth by its rule, before item floors and caps."""

    finding: str
    unit: str
    indicator: str
    item: str
    rule: str
    effect: Effect
    points: float
    explanation: str


class StaffCharge(_Out):
    finding: str
    unit: str
    indicator: str
    points: float
    role: Literal["responsible", "head_failed_to_deduct"]


class StaffTotal(_Out):
    staff: str
    points: float
    charges: tuple[StaffCharge, ...]


class ComponentResult(_Out):
    code: str
    rate: float
    subperiod_rates: tuple[float | None, ...]
    points: float


class SchemeResult(_Out):
    """A subject's result under a scheme; ``total`` is rounded to the scheme's decimals."""

    subject: str
    scheme: str
    scheme_version: int
    components: tuple[ComponentResult, ...]
    bonus_claimed: float
    bonus: float
    total: float
    vetoed: bool
    grade: str | None = None
    passed: bool | None = None
    accountability: bool | None = None
    rank: int | None = None
    commended: bool | None = None
    flagged: bool | None = None
