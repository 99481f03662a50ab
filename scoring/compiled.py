"""A catalog flattened into numpy arrays for the batch scorer.

Indicators are numbered in document order (as :func:`scoring.index.catalog_index`
does) and items in catalog order; all constant points are precomputed in
milli-points with the same :func:`scoring.points.to_milli` the explainable path uses.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .index import catalog_index
from .model import (
    BonusLevels,
    BonusPerOccurrence,
    Catalog,
    DeductOnlyTarget,
    PerOccurrence,
    PerQuantity,
    StagedTarget,
    Target,
    TierBonus,
    Veto,
)
from .points import to_milli

__all__ = ["Kind", "Compiled", "compile_catalog", "NO_CAP"]


class Kind:
    """Rule kinds as small integers."""

    PER_OCCURRENCE, PER_QUANTITY, TARGET, DEDUCT_ONLY, STAGED, VETO = range(6)
    BONUS_LEVELS, BONUS_OCCURRENCE, TIER_BONUS = range(6, 9)
    MEASURED = (TARGET, DEDUCT_ONLY, STAGED)


_KIND = {
    PerOccurrence: Kind.PER_OCCURRENCE,
    PerQuantity: Kind.PER_QUANTITY,
    Target: Kind.TARGET,
    DeductOnlyTarget: Kind.DEDUCT_ONLY,
    StagedTarget: Kind.STAGED,
    Veto: Kind.VETO,
    BonusLevels: Kind.BONUS_LEVELS,
    BonusPerOccurrence: Kind.BONUS_OCCURRENCE,
    TierBonus: Kind.TIER_BONUS,
}
ITEM_KINDS = ("scored", "bonus", "penalty")
#: Stands for "no cap" in milli-point arrays; far above any real sum, exact in float64.
NO_CAP = float(2**52)


class Compiled(NamedTuple):
    indicator_codes: tuple[str, ...]
    item_codes: tuple[str, ...]
    metrics: tuple[str, ...]
    kind: np.ndarray  # int8 per indicator
    item: np.ndarray  # int32 per indicator
    adds: np.ndarray  # bool per indicator: counts as added (bonus item)
    points_milli: np.ndarray  # int64: per occurrence
    points_float: np.ndarray  # float64: per unit of quantity
    cap_milli: np.ndarray  # float64: indicator cap, NO_CAP if none
    tier_milli: np.ndarray  # int64 [indicator, tier - 1]
    level_keys: dict  # (indicator code, level code) -> level number
    level_indicator: np.ndarray  # int32: owner indicator of each level
    level_milli: np.ndarray  # int64
    targets: tuple  # (indicator number, metric number, Target | DeductOnlyTarget)
    staged: tuple  # (indicator number, metric number, StagedTarget)
    item_kind: np.ndarray  # int8: 0 scored, 1 bonus, 2 penalty
    item_cap_milli: np.ndarray  # float64: points (scored), cap (bonus/penalty) or NO_CAP
    bonus_cap_milli: float


@lru_cache(maxsize=16)
def compile_catalog(catalog: Catalog) -> Compiled:
    """Flatten ``catalog`` (cached: catalogs are frozen and hashable)."""
    index = catalog_index(catalog)
    n = len(index.entries)
    n_tiers = max(1, len(catalog.unit_tiers))
    kind = np.zeros(n, np.int8)
    item = np.zeros(n, np.int32)
    adds = np.zeros(n, bool)
    points_milli = np.zeros(n, np.int64)
    points_float = np.zeros(n, np.float64)
    cap_milli = np.full(n, NO_CAP)
    tier_milli = np.zeros((n, n_tiers), np.int64)
    level_keys: dict[tuple[str, str], int] = {}
    level_indicator: list[int] = []
    level_milli: list[int] = []
    targets, staged = [], []
    metric_number = {m: k for k, m in enumerate(index.metrics)}
    for entry in index.entries:
        k, rule = entry.position, entry.indicator.rule
        kind[k] = _KIND[type(rule)]
        item[k] = entry.item_index
        adds[k] = entry.item.kind == "bonus"
        if isinstance(rule, (PerOccurrence, BonusPerOccurrence)):
            points_milli[k] = to_milli(rule.points)
        elif isinstance(rule, PerQuantity):
            points_float[k] = rule.points
        elif isinstance(rule, TierBonus):
            tier_milli[k, : len(rule.points)] = [to_milli(p) for p in rule.points]
        elif isinstance(rule, BonusLevels):
            for level in rule.levels:
                level_keys[(entry.indicator.code, level.code)] = len(level_milli)
                level_indicator.append(k)
                level_milli.append(to_milli(level.points))
        elif isinstance(rule, (Target, DeductOnlyTarget)):
            targets.append((k, metric_number[rule.metric], rule))
        elif isinstance(rule, StagedTarget):
            staged.append((k, metric_number[rule.metric], rule))
        cap = getattr(rule, "max_points", None)
        if cap is not None:
            cap_milli[k] = to_milli(cap)
    item_kind = np.array([ITEM_KINDS.index(i.kind) for i in catalog.items], np.int8)
    item_cap = [i.max_points(catalog.scale) for i in catalog.items]
    return Compiled(
        indicator_codes=tuple(e.indicator.code for e in index.entries),
        item_codes=tuple(i.code for i in catalog.items),
        metrics=index.metrics,
        kind=kind,
        item=item,
        adds=adds,
        points_milli=points_milli,
        points_float=points_float,
        cap_milli=cap_milli,
        tier_milli=tier_milli,
        level_keys=level_keys,
        level_indicator=np.array(level_indicator, np.int32),
        level_milli=np.array(level_milli, np.int64),
        targets=tuple(targets),
        staged=tuple(staged),
        item_kind=item_kind,
        item_cap_milli=np.array([NO_CAP if c is None else to_milli(c) for c in item_cap], np.float64),
        bonus_cap_milli=NO_CAP if catalog.bonus_cap is None else float(to_milli(catalog.bonus_cap)),
    )
