"""Catalog model: items, sub-items and indicators with their rules.

A catalog is a versioned tree. Items (大项) carry points (or a weight, a
percentage of the catalog's scale); sub-items (子项) group indicators (指标);
each indicator has exactly one rule. Every node has a stable ``code`` and a
Chinese ``name`` with its English ``name_en``.

Item kinds:

- ``scored``: the item starts at its points; deductions and target additions
  move it; it never goes below zero (扣完为止).
- ``bonus``: bonus points (加分), optionally capped by the item's ``points``.
- ``penalty``: points taken off the total, capped by the item's ``points``.

The Structs are frozen so a catalog can be hashed and its compiled form cached.
Semantic rules (unique codes, sums, caps) live in :mod:`scoring.validation`.
"""

from __future__ import annotations

from typing import Annotated, Iterator, Literal, Union

from msgspec import Meta, Struct

__all__ = [
    "Code",
    "PerOccurrence",
    "PerQuantity",
    "Target",
    "DeductOnlyTarget",
    "Stage",
    "WarningThreshold",
    "StagedTarget",
    "Veto",
    "BonusLevel",
    "BonusLevels",
    "BonusPerOccurrence",
    "TierBonus",
    "Rule",
    "Indicator",
    "SubItem",
    "Item",
    "UnitTier",
    "Attribution",
    "Catalog",
    "WARNING_LEVELS",
    "FINDING_RULES",
    "MEASUREMENT_RULES",
    "BONUS_RULES",
]

Code = Annotated[
    str, Meta(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$", max_length=120)
]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Points = Annotated[float, Meta(ge=0, le=1_000_000)]
PositivePoints = Annotated[float, Meta(gt=0, le=1_000_000)]
Metric = Annotated[float, Meta(ge=-1e12, le=1e12)]
Step = Annotated[float, Meta(gt=0, le=1e12)]

#: Warning levels of staged targets, mildest first (关注 / 警告 / 严重警告).
WARNING_LEVELS: tuple[str, ...] = ("watch", "warning", "serious_warning")
WarningLevel = Literal["watch", "warning", "serious_warning"]


class _Node(Struct, frozen=True, forbid_unknown_fields=True):
    pass


class _RuleNode(_Node, tag_field="kind"):
    pass


class PerOccurrence(_RuleNode, tag="per_occurrence"):
    """``points`` off per occurrence; ``max_points`` caps the indicator per period."""

    points: PositivePoints
    max_points: Points | None = None


class PerQuantity(_RuleNode, tag="per_quantity"):
    """``points`` off per unit of a finding's ``quantity`` (e.g. per day late)."""

    points: PositivePoints
    quantity_unit: Name
    max_points: Points | None = None


class Target(_RuleNode, tag="target"):
    """Target with a base score, read from measurements of ``metric``.

    Meeting ``target`` keeps ``base``; each ``step`` above adds
    ``add_per_step`` (at most ``max_addition`` in total); each ``step`` below
    deducts ``deduct_per_step`` with no floor but the item's own zero.
    ``whole_steps`` counts only completed steps.
    """

    metric: Code
    target: Metric
    base: PositivePoints
    add_per_step: Points
    max_addition: Points
    deduct_per_step: PositivePoints
    step: Step = 1.0
    whole_steps: bool = False


class DeductOnlyTarget(_RuleNode, tag="deduct_only_target"):
    """Like :class:`Target` but exceeding the target earns nothing."""

    metric: Code
    target: Metric
    base: PositivePoints
    deduct_per_step: PositivePoints
    step: Step = 1.0
    whole_steps: bool = False


class Stage(_Node):
    """From ``at`` (share of the period elapsed, 0 < at <= 1) progress must reach ``target``."""

    at: Annotated[float, Meta(gt=0, le=1)]
    target: Metric


class WarningThreshold(_Node):
    """A shortfall of at least ``min_shortfall`` below the stage target raises ``level``."""

    level: WarningLevel
    min_shortfall: Annotated[float, Meta(ge=0, le=1e12)]


class StagedTarget(_RuleNode, tag="staged_target"):
    """Progress checkpoints raising watch / warning / serious-warning; no points."""

    metric: Code
    stages: Annotated[tuple[Stage, ...], Meta(min_length=1)]
    levels: Annotated[tuple[WarningThreshold, ...], Meta(min_length=1, max_length=3)]


class Veto(_RuleNode, tag="veto"):
    """One finding vetoes the unit (一票否决): it cannot pass or be commended."""


class BonusLevel(_Node):
    code: Code
    name: Name
    name_en: Name
    points: PositivePoints


class BonusLevels(_RuleNode, tag="bonus_levels"):
    """Awards by level; only the highest level per achievement counts."""

    levels: Annotated[tuple[BonusLevel, ...], Meta(min_length=1)]
    max_points: Points | None = None


class BonusPerOccurrence(_RuleNode, tag="bonus_per_occurrence"):
    points: PositivePoints
    max_points: Points | None = None


class TierBonus(_RuleNode, tag="tier_bonus"):
    """Per occurrence, ``points[t - 1]`` for a unit of tier ``t`` (see ``Catalog.unit_tiers``)."""

    points: Annotated[tuple[PositivePoints, ...], Meta(min_length=1)]
    max_points: Points | None = None


Rule = Union[
    PerOccurrence,
    PerQuantity,
    Target,
    DeductOnlyTarget,
    StagedTarget,
    Veto,
    BonusLevels,
    BonusPerOccurrence,
    TierBonus,
]

#: Rules fed by findings; the others are fed by measurements.
FINDING_RULES = (PerOccurrence, PerQuantity, Veto, BonusLevels, BonusPerOccurrence, TierBonus)
MEASUREMENT_RULES = (Target, DeductOnlyTarget, StagedTarget)
BONUS_RULES = (BonusLevels, BonusPerOccurrence, TierBonus)


class Indicator(_Node):
    code: Code
    name: Name
    name_en: Name
    rule: Rule
    description: str = ""
    #: The kinds of spot-check task whose findings may cite this indicator; empty: any kind.
    task_kinds: tuple[Literal["file_review", "field_visit", "callback"], ...] = ()


class SubItem(_Node):
    code: Code
    name: Name
    name_en: Name
    indicators: Annotated[tuple[Indicator, ...], Meta(min_length=1)]


class Item(_Node):
    """An item; give either ``points`` or ``weight`` (percent of the catalog scale).

    Indicators may sit directly on the item, in sub-items, or both.
    """

    code: Code
    name: Name
    name_en: Name
    kind: Literal["scored", "bonus", "penalty"] = "scored"
    points: Points | None = None
    weight: Annotated[float, Meta(ge=0, le=100)] | None = None
    indicators: tuple[Indicator, ...] = ()
    sub_items: tuple[SubItem, ...] = ()
    note: str = ""

    def max_points(self, scale: float) -> float | None:
        """The item's points: ``points``, or ``weight`` percent of ``scale``, or None."""
        if self.points is not None:
            return self.points
        if self.weight is not None:
            return scale * self.weight / 100
        return None

    def all_indicators(self) -> Iterator[tuple[SubItem | None, Indicator]]:
        """Yield ``(sub_item, indicator)`` in document order, direct indicators first."""
        for indicator in self.indicators:
            yield None, indicator
        for sub in self.sub_items:
            for indicator in sub.indicators:
                yield sub, indicator


class UnitTier(_Node):
    """Units with at least ``min_entities`` supervised entities are in this tier."""

    tier: Annotated[int, Meta(ge=1, le=100)]
    name: Name
    name_en: Name
    min_entities: Annotated[int, Meta(ge=0)]


class Attribution(_Node):
    """How a unit deduction is charged to people.

    ``full``: every named person is charged the finding's points; ``split``:
    the points are shared equally. A unit head who failed to deduct is charged
    ``head_multiplier`` times the points (the seeds say double).
    """

    mode: Literal["full", "split"] = "full"
    head_multiplier: Annotated[float, Meta(ge=1, le=10)] = 2.0


class Catalog(_Node):
    code: Code
    version: Annotated[int, Meta(ge=1)]
    name: Name
    name_en: Name
    items: Annotated[tuple[Item, ...], Meta(min_length=1)]
    scale: Annotated[float, Meta(gt=0, le=100_000)] = 100.0
    bonus_cap: Points | None = None
    unit_tiers: tuple[UnitTier, ...] = ()
    attribution: Attribution = Attribution()
    note: str = ""

    def indicators(self) -> Iterator[tuple[Item, SubItem | None, Indicator]]:
        """Yield ``(item, sub_item, indicator)`` for every indicator in document order."""
        for item in self.items:
            for sub, indicator in item.all_indicators():
                yield item, sub, indicator
