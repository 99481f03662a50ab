"""Semantic checks on catalogs and schemes, beyond what the Struct types enforce.

Each check raises at the first problem with the JSONPath of the bad node, so
an author fixing a file is sent to the exact place.
"""

from __future__ import annotations

from typing import Iterable

from .errors import CatalogError, SchemeError
from .model import (
    BONUS_RULES,
    WARNING_LEVELS,
    BonusLevels,
    Catalog,
    DeductOnlyTarget,
    Item,
    PerOccurrence,
    PerQuantity,
    StagedTarget,
    Target,
    TierBonus,
    Veto,
)
from .points import MILLI, is_milli_multiple
from .schemes import Grading, Ranking, Scheme

__all__ = ["check_catalog", "check_scheme", "check_grading", "check_ranking"]

_ALLOWED = {
    "scored": (PerOccurrence, PerQuantity, Target, DeductOnlyTarget, StagedTarget, Veto),
    "penalty": (PerOccurrence, PerQuantity, Veto),
    "bonus": BONUS_RULES,
}
_SUM_TOLERANCE = 1e-6


def check_catalog(catalog: Catalog) -> Catalog:
    """Return ``catalog`` unchanged if it is consistent, else raise :class:`CatalogError`.

    Checks: codes unique across all nodes; items' points given as the kind
    requires; scored items' points sum to the scale; rules allowed by the item
    kind; target bases fit the item; points are multiples of 0.001; stages,
    warning levels, bonus levels and unit tiers well ordered.
    """
    _check_tiers(catalog)
    seen: dict[str, str] = {}
    scored_sum = 0.0
    for i, item in enumerate(catalog.items):
        path = f"$.items[{i}]"
        _unique(seen, item.code, f"{path}.code")
        points = _check_item_points(catalog, item, path)
        if item.kind == "scored":
            scored_sum += points or 0.0
        if not item.indicators and not item.sub_items:
            raise CatalogError("an item needs at least one indicator", path)
        base_sum = 0.0
        for j, sub in enumerate(item.sub_items):
            _unique(seen, sub.code, f"{path}.sub_items[{j}].code")
        for ipath, indicator in _indicator_paths(item, path):
            _unique(seen, indicator.code, f"{ipath}.code")
            rule = indicator.rule
            if not isinstance(rule, _ALLOWED[item.kind]):
                kinds = ", ".join(sorted(r.__struct_config__.tag for r in _ALLOWED[item.kind]))
                raise CatalogError(
                    f"a {item.kind} item takes rules of kind {kinds}", f"{ipath}.rule.kind"
                )
            _check_rule(catalog, rule, f"{ipath}.rule")
            if item.kind == "scored" and not points and not isinstance(rule, (Veto, StagedTarget)):
                # Deductions from an item without points would always be floored away.
                raise CatalogError(
                    "an item without points holds only vetoes and staged targets",
                    f"{ipath}.rule.kind",
                )
            if isinstance(rule, (Target, DeductOnlyTarget)):
                base_sum += rule.base
        if item.kind == "scored" and base_sum > (points or 0.0) + _SUM_TOLERANCE:
            raise CatalogError(
                f"target bases sum to {base_sum:g}, more than the item's {points:g} points", path
            )
    if abs(scored_sum - catalog.scale) > _SUM_TOLERANCE:
        raise CatalogError(
            f"scored items' points sum to {scored_sum:g}; they must sum to the catalog "
            f"scale {catalog.scale:g}",
            "$.items",
        )
    _milli("bonus_cap", catalog.bonus_cap, "$.bonus_cap", CatalogError)
    return catalog


def _indicator_paths(item: Item, path: str):
    for k, indicator in enumerate(item.indicators):
        yield f"{path}.indicators[{k}]", indicator
    for j, sub in enumerate(item.sub_items):
        for k, indicator in enumerate(sub.indicators):
            yield f"{path}.sub_items[{j}].indicators[{k}]", indicator


def _unique(seen: dict[str, str], code: str, path: str) -> None:
    if code in seen:
        raise CatalogError(f"duplicate code {code!r}, first used at {seen[code]}", path)
    seen[code] = path


def _milli(field: str, value: float | None, path: str, error: type) -> None:
    if value is not None and not is_milli_multiple(value):
        raise error(f"{field} must be a multiple of {1 / MILLI:g} points", path)


def _check_item_points(catalog: Catalog, item: Item, path: str) -> float | None:
    if item.kind == "scored":
        if (item.points is None) == (item.weight is None):
            raise CatalogError("a scored item needs exactly one of `points` or `weight`", path)
    elif item.weight is not None:
        raise CatalogError(f"a {item.kind} item takes `points` (its cap), not `weight`", path)
    elif item.kind == "penalty" and item.points is None:
        raise CatalogError("a penalty item needs `points`: the most it can take off", path)
    points = item.max_points(catalog.scale)
    field = "points" if item.points is not None else "weight"
    _milli("item points", points, f"{path}.{field}", CatalogError)
    return points


def _check_rule(catalog: Catalog, rule, path: str) -> None:
    for field in ("points", "max_points", "base", "add_per_step", "max_addition", "deduct_per_step"):
        value = getattr(rule, field, None)
        if isinstance(value, float) or isinstance(value, int):
            _milli(field, value, f"{path}.{field}", CatalogError)
    if isinstance(rule, StagedTarget):
        _check_stages(rule, path)
    elif isinstance(rule, BonusLevels):
        codes: set[str] = set()
        for n, level in enumerate(rule.levels):
            if level.code in codes:
                raise CatalogError(f"duplicate level {level.code!r}", f"{path}.levels[{n}].code")
            codes.add(level.code)
            _milli("points", level.points, f"{path}.levels[{n}].points", CatalogError)
    elif isinstance(rule, TierBonus):
        if len(rule.points) != len(catalog.unit_tiers):
            raise CatalogError(
                f"one points value per unit tier: {len(catalog.unit_tiers)} tiers in "
                f"$.unit_tiers, {len(rule.points)} values here",
                f"{path}.points",
            )
        for n, value in enumerate(rule.points):
            _milli("points", value, f"{path}.points[{n}]", CatalogError)


def _check_stages(rule: StagedTarget, path: str) -> None:
    for n in range(1, len(rule.stages)):
        if rule.stages[n].at <= rule.stages[n - 1].at:
            raise CatalogError("stages must be in increasing `at` order", f"{path}.stages[{n}].at")
    for n in range(1, len(rule.levels)):
        prev, cur = rule.levels[n - 1], rule.levels[n]
        if WARNING_LEVELS.index(cur.level) <= WARNING_LEVELS.index(prev.level):
            raise CatalogError(
                "levels go from mildest to gravest: watch, warning, serious_warning",
                f"{path}.levels[{n}].level",
            )
        if cur.min_shortfall <= prev.min_shortfall:
            raise CatalogError(
                "a graver level needs a larger min_shortfall", f"{path}.levels[{n}].min_shortfall"
            )


def _check_tiers(catalog: Catalog) -> None:
    tiers = catalog.unit_tiers
    for n, tier in enumerate(tiers):
        path = f"$.unit_tiers[{n}]"
        if tier.tier != n + 1:
            raise CatalogError("tiers are numbered 1, 2, ... in order", f"{path}.tier")
        if n and tier.min_entities >= tiers[n - 1].min_entities:
            raise CatalogError(
                "min_entities must decrease from tier to tier", f"{path}.min_entities"
            )
    if tiers and tiers[-1].min_entities != 0:
        raise CatalogError(
            "the last tier needs min_entities 0 so every unit has a tier",
            f"$.unit_tiers[{len(tiers) - 1}].min_entities",
        )


def check_grading(grading: Grading, path: str = "$", error: type = SchemeError) -> Grading:
    """Check grade bands are best first with strictly decreasing ``min`` and a final catch-all."""
    bands = grading.bands
    codes = [band.code for band in bands]
    for n, band in enumerate(bands):
        bpath = f"{path}.bands[{n}]"
        if band.code in codes[:n]:
            raise error(f"duplicate grade {band.code!r}", f"{bpath}.code")
        last = n == len(bands) - 1
        if last and band.min is not None:
            raise error("the last band has no `min`: it catches every lower total", f"{bpath}.min")
        if not last and band.min is None:
            raise error("only the last band may omit `min`", bpath)
        if n and band.min is not None and band.min >= bands[n - 1].min:
            raise error("band minimums must strictly decrease, best band first", f"{bpath}.min")
        _milli("min", band.min, f"{bpath}.min", error)
    if grading.veto_grade is not None and grading.veto_grade not in codes:
        raise error(f"veto_grade {grading.veto_grade!r} is not a band code", f"{path}.veto_grade")
    lines = (grading.pass_line, grading.accountability_line)
    if None not in lines and lines[1] > lines[0]:
        raise error("accountability_line cannot be above pass_line", f"{path}.accountability_line")
    _milli("pass_line", grading.pass_line, f"{path}.pass_line", error)
    _milli("accountability_line", grading.accountability_line, f"{path}.accountability_line", error)
    return grading


def check_ranking(
    ranking: Ranking, codes: Iterable[str], path: str = "$", error: type = SchemeError
) -> Ranking:
    """Check tie-break codes exist among ``codes`` and at most one commendation quota is set."""
    known = set(codes)
    for n, code in enumerate(ranking.tie_break):
        if code not in known:
            raise error(f"unknown tie-break code {code!r}", f"{path}.tie_break[{n}]")
    if ranking.commend_top is not None and ranking.commend_top_share is not None:
        raise error("give commend_top or commend_top_share, not both", path)
    return ranking


def check_scheme(scheme: Scheme) -> Scheme:
    """Return ``scheme`` if consistent, else raise :class:`SchemeError` with the path."""
    codes: list[str] = []
    for n, component in enumerate(scheme.components):
        path = f"$.components[{n}]"
        if component.code in codes:
            raise SchemeError(f"duplicate component {component.code!r}", f"{path}.code")
        codes.append(component.code)
        if component.source == "rate" and component.catalog is not None:
            raise SchemeError("a supplied-rate component names no catalog", f"{path}.catalog")
    total = sum(c.weight for c in scheme.components)
    if abs(total - 100) > _SUM_TOLERANCE:
        raise SchemeError(f"component weights sum to {total:g}; they must sum to 100", "$.components")
    check_grading(scheme.grading, "$.grading")
    if scheme.ranking is not None:
        check_ranking(scheme.ranking, codes, "$.ranking")
    return scheme
