"""The arithmetic of each rule kind, one finding or one measurement at a time.

Results are integer milli-points. :mod:`scoring.batch` repeats these formulas
on arrays with the same float operations in the same order, so both paths
round identically (``round`` and ``numpy.rint`` both round half to even).
"""

from __future__ import annotations

import math

from .errors import InputError
from .inputs import Finding
from .model import (
    MEASUREMENT_RULES,
    BonusLevels,
    BonusPerOccurrence,
    DeductOnlyTarget,
    PerOccurrence,
    PerQuantity,
    Rule,
    StagedTarget,
    Target,
    TierBonus,
    Veto,
    WARNING_LEVELS,
)
from .points import MILLI, to_milli

__all__ = ["EPS", "finding_milli", "target_delta_milli", "staged_level", "describe"]

#: Slack for whole-step counting and stage dates, so 2.9999999999 steps count as 3.
EPS = 1e-9


def finding_milli(rule: Rule, finding: Finding, tier: int | None = None) -> int:
    """Milli-points one finding is worth under ``rule`` before the indicator's cap.

    Always >= 0: whether it deducts or adds depends on the item kind. A veto
    finding is worth 0 (its effect is the veto). ``tier`` is needed by tier bonuses.
    A finding's own ``points`` (adjusted on review) replace the rule's, once
    the rule has accepted the finding.
    """
    milli = _rule_milli(rule, finding, tier)
    if finding.points is None or isinstance(rule, Veto):
        return milli
    return to_milli(finding.points)


def _rule_milli(rule: Rule, finding: Finding, tier: int | None) -> int:
    if isinstance(rule, (PerOccurrence, BonusPerOccurrence)):
        return finding.count * to_milli(rule.points)
    if isinstance(rule, PerQuantity):
        if finding.quantity is None:
            raise InputError(f"indicator {finding.indicator} counts a quantity", finding.id)
        return round(finding.quantity * rule.points * MILLI)
    if isinstance(rule, TierBonus):
        if tier is None:
            raise InputError("a tier-scaled bonus needs the unit's tier", finding.id)
        return finding.count * to_milli(rule.points[tier - 1])
    if isinstance(rule, BonusLevels):
        return to_milli(bonus_level(rule, finding).points)
    if isinstance(rule, Veto):
        return 0
    assert isinstance(rule, MEASUREMENT_RULES)
    raise InputError(
        f"indicator {finding.indicator} is scored from measurements, not findings", finding.id
    )


def bonus_level(rule: BonusLevels, finding: Finding):
    """The level a level-table finding claims; it must name a level and an achievement."""
    if finding.achievement is None:
        raise InputError("a level-table bonus needs the `achievement` it rewards", finding.id)
    for level in rule.levels:
        if level.code == finding.level:
            return level
    codes = ", ".join(level.code for level in rule.levels)
    raise InputError(f"level {finding.level!r} is not one of {codes}", finding.id)


def target_delta_milli(rule: Target | DeductOnlyTarget, value: float) -> int:
    """Signed milli-points a measured ``value`` moves a target indicator from its base.

    Above target: ``add_per_step`` per step, at most ``max_addition`` (nothing
    for deduct-only targets). Below: ``deduct_per_step`` per step, unbounded
    here (the item's zero floor bounds it).
    """
    diff = value - rule.target
    if diff >= 0:
        if not isinstance(rule, Target):
            return 0
        steps = diff / rule.step
        if rule.whole_steps:
            steps = math.floor(steps + EPS)
        return min(round(steps * rule.add_per_step * MILLI), to_milli(rule.max_addition))
    steps = -diff / rule.step
    if rule.whole_steps:
        steps = math.floor(steps + EPS)
    return -round(steps * rule.deduct_per_step * MILLI)


def staged_level(rule: StagedTarget, value: float, elapsed: float) -> tuple[int, int | None, float]:
    """``(level, stage_index, shortfall)`` of a staged target at ``elapsed`` share of the period.

    The stage in force is the last with ``at <= elapsed``; the level is the
    gravest threshold the positive shortfall reaches (1 watch, 2 warning,
    3 serious warning), 0 when on track or before the first stage.
    """
    stage_index = None
    for n, stage in enumerate(rule.stages):
        if stage.at <= elapsed + EPS:
            stage_index = n
    if stage_index is None:
        return 0, None, 0.0
    shortfall = rule.stages[stage_index].target - value
    level = 0
    if shortfall > 0:
        for threshold in rule.levels:
            if shortfall >= threshold.min_shortfall:
                level = WARNING_LEVELS.index(threshold.level) + 1
    return level, stage_index, shortfall


def describe(rule: Rule, finding: Finding, milli: int) -> str:
    """A one-line English account of how a finding's points were reached."""
    points = f"{milli / MILLI:g}"
    if finding.points is not None and not isinstance(rule, Veto):
        return f"adjusted on review to {points} points"
    if isinstance(rule, (PerOccurrence, BonusPerOccurrence, TierBonus)):
        return f"{finding.count} x {milli // finding.count / MILLI:g} = {points} points"
    if isinstance(rule, PerQuantity):
        return f"{finding.quantity:g} {rule.quantity_unit} x {rule.points:g} = {points} points"
    if isinstance(rule, BonusLevels):
        return f"level {finding.level} for achievement {finding.achievement}: {points} points"
    return "veto (一票否决)"
