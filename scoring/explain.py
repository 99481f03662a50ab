"""The explainable scorer: one unit at a time, every point traced to its source.

This is the reference path. :mod:`scoring.batch` must give the same numbers
for many units at once; tests hold the two together.
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction
from typing import Iterable, Sequence

from msgspec.structs import replace

from .errors import InputError
from .grading import apply_grading, rank
from .index import Entry, catalog_index
from .inputs import Basis, Finding, Measurement, Unit, select, unit_tier
from .model import (
    WARNING_LEVELS,
    BonusLevels,
    Catalog,
    DeductOnlyTarget,
    Item,
    StagedTarget,
    Target,
    TierBonus,
    Veto,
)
from .points import MILLI, from_milli, to_milli
from .results import (
    IndicatorScore,
    ItemScore,
    Line,
    MeasurementUse,
    ProposedDeduction,
    StagedWarning,
    SubItemScore,
    UnitScore,
    VetoRef,
)
from .rules import describe, finding_milli, staged_level, target_delta_milli
from .schemes import Grading, Ranking
from .validation import check_ranking

__all__ = ["propose", "score_unit", "score_period", "index_measurements"]


def propose(catalog: Catalog, finding: Finding, unit: Unit | None = None) -> ProposedDeduction:
    """The points ``finding`` is worth by its indicator's rule (before item floors/caps).

    ``unit`` is needed only for tier-scaled bonuses. Raises :class:`InputError`
    for an unknown indicator or a finding the rule cannot take.
    """
    entry = catalog_index(catalog).lookup(finding)
    rule = entry.indicator.rule
    tier = None
    if isinstance(rule, TierBonus):
        if unit is None:
            raise InputError("a tier-scaled bonus needs the unit", finding.id)
        tier = unit_tier(catalog, unit)
    milli = finding_milli(rule, finding, tier)
    return ProposedDeduction(
        finding=finding.id,
        unit=finding.unit,
        indicator=entry.indicator.code,
        item=entry.item.code,
        rule=rule.__struct_config__.tag,
        effect=_effect(entry.item, rule),
        points=from_milli(milli),
        explanation=describe(rule, finding, milli),
    )


def _effect(item: Item, rule) -> str:
    if isinstance(rule, Veto):
        return "veto"
    return "add" if item.kind == "bonus" else "deduct"


def index_measurements(
    catalog: Catalog, measurements: Iterable[Measurement], period: str
) -> dict[tuple[str, str], Measurement]:
    """Measurements by ``(unit, metric)`` for the catalog's metrics in ``period``.

    Another period's measurement, or two for one unit and metric, is an
    :class:`InputError`: mixing periods silently would corrupt a score.
    """
    metrics = set(catalog_index(catalog).metrics)
    out: dict[tuple[str, str], Measurement] = {}
    for m in measurements:
        if m.period != period:
            raise InputError(f"measurement is for period {m.period!r}, not {period!r}", m.id)
        if m.metric not in metrics:
            continue
        key = (m.unit, m.metric)
        if key in out:
            raise InputError(f"second measurement of {m.metric} for unit {m.unit}", m.id)
        out[key] = m
    return out


def score_unit(
    catalog: Catalog,
    unit: Unit,
    findings: Iterable[Finding],
    measurements: Iterable[Measurement] = (),
    *,
    period: str,
    basis: Basis = "provisional",
    grading: Grading | None = None,
) -> UnitScore:
    """Score one unit for one period, with a full explanation.

    ``basis="confirmed"`` counts only confirmed findings; ``"provisional"``
    counts all passed in. Findings of other units are an :class:`InputError`.
    """
    counted = select(findings, basis)
    for f in counted:
        if f.unit != unit.code:
            raise InputError(f"finding is for unit {f.unit!r}, not {unit.code!r}", f.id)
    by_metric = {
        metric: m
        for (code, metric), m in index_measurements(catalog, measurements, period).items()
        if code == unit.code
    }
    return _score(catalog, unit, counted, by_metric, period, basis, grading)


def score_period(
    catalog: Catalog,
    units: Sequence[Unit],
    findings: Iterable[Finding],
    measurements: Iterable[Measurement] = (),
    *,
    period: str,
    basis: Basis = "provisional",
    grading: Grading | None = None,
    ranking: Ranking | None = None,
) -> list[UnitScore]:
    """Score every unit of ``units`` for a period and rank them, in ``units`` order.

    Ranking keys are the total then the ``ranking.tie_break`` item scores.
    """
    if ranking is not None:
        check_ranking(ranking, [item.code for item in catalog.items], "ranking", InputError)
    known = {u.code for u in units}
    per_unit: dict[str, list[Finding]] = defaultdict(list)
    for f in select(findings, basis):
        if f.unit not in known:
            raise InputError(f"finding for unknown unit {f.unit!r}", f.id)
        per_unit[f.unit].append(f)
    per_metric: dict[str, dict[str, Measurement]] = defaultdict(dict)
    for (code, metric), m in index_measurements(catalog, measurements, period).items():
        if code not in known:
            raise InputError(f"measurement for unknown unit {code!r}", m.id)
        per_metric[code][metric] = m
    scores = [
        _score(catalog, u, per_unit[u.code], per_metric[u.code], period, basis, grading)
        for u in units
    ]
    if ranking is None:
        return scores
    item_pos = {item.code: n for n, item in enumerate(catalog.items)}
    keys = [
        (to_milli(s.total), *(to_milli(s.items[item_pos[c]].score) for c in ranking.tie_break))
        for s in scores
    ]
    places = rank(keys, [s.vetoed for s in scores], ranking)
    return [
        replace(s, rank=p.rank, commended=p.commended, flagged=p.flagged)
        for s, p in zip(scores, places)
    ]


def _score(
    catalog: Catalog,
    unit: Unit,
    findings: list[Finding],
    by_metric: dict[str, Measurement],
    period: str,
    basis: str,
    grading: Grading | None,
) -> UnitScore:
    index = catalog_index(catalog)
    by_indicator: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_indicator[index.lookup(f).indicator.code].append(f)
    tier = None
    if any(isinstance(index.by_code[c].indicator.rule, TierBonus) for c in by_indicator):
        tier = unit_tier(catalog, unit)
    per_item: dict[int, list[tuple[Entry, IndicatorScore, int, int]]] = defaultdict(list)
    vetoes: list[VetoRef] = []
    warnings: list[StagedWarning] = []
    missing: list[str] = []
    for entry in index.entries:
        score, deducted, added = _indicator(
            entry, by_indicator.get(entry.indicator.code, ()), by_metric, tier
        )
        per_item[entry.item_index].append((entry, score, deducted, added))
        vetoes.extend(
            VetoRef(indicator=score.code, finding=line.finding)
            for line in score.lines
            if line.effect == "veto"
        )
        if score.warning is not None:
            warnings.append(score.warning)
        if score.missing_measurement:
            missing.append(getattr(entry.indicator.rule, "metric"))
    items = []
    sums = {"scored": 0, "bonus": 0, "penalty": 0}
    for n, item in enumerate(catalog.items):
        item_score, milli = _item(catalog, item, per_item[n])
        items.append(item_score)
        sums[item.kind] += milli
    bonus = sums["bonus"]
    bonus_capped = catalog.bonus_cap is not None and bonus > to_milli(catalog.bonus_cap)
    if bonus_capped:
        bonus = to_milli(catalog.bonus_cap)
    total = max(0, sums["scored"] + bonus - sums["penalty"])
    standing = apply_grading(grading, Fraction(total, MILLI), bool(vetoes))
    return UnitScore(
        unit=unit.code,
        period=period,
        catalog=catalog.code,
        catalog_version=catalog.version,
        basis=basis,
        scale=catalog.scale,
        items=tuple(items),
        scored_total=from_milli(sums["scored"]),
        bonus=from_milli(bonus),
        bonus_capped=bonus_capped,
        penalty=from_milli(sums["penalty"]),
        total=from_milli(total),
        vetoed=bool(vetoes),
        vetoes=tuple(vetoes),
        warnings=tuple(warnings),
        missing_metrics=tuple(dict.fromkeys(missing)),
        grade=standing.grade,
        passed=standing.passed,
        accountability=standing.accountability,
    )


def _indicator(
    entry: Entry,
    findings: Sequence[Finding],
    by_metric: dict[str, Measurement],
    tier: int | None,
) -> tuple[IndicatorScore, int, int]:
    """An indicator's explanation with its (deducted, added) milli-points."""
    indicator, item = entry.indicator, entry.item
    rule = indicator.rule
    common = dict(
        code=indicator.code,
        name=indicator.name,
        name_en=indicator.name_en,
        rule=rule.__struct_config__.tag,
    )
    if isinstance(rule, (Target, DeductOnlyTarget, StagedTarget)):
        return _measured(rule, by_metric.get(rule.metric), common)
    effect = _effect(item, rule)
    worth = [finding_milli(rule, f, tier) for f in findings]
    counts = [True] * len(findings)
    if isinstance(rule, BonusLevels):
        # Only the highest level per achievement counts; the first such award wins ties.
        best: dict[str, int] = {}
        for n, f in enumerate(findings):
            if f.achievement not in best or worth[n] > worth[best[f.achievement]]:
                best[f.achievement] = n
        counts = [best[f.achievement] == n for n, f in enumerate(findings)]
    lines = tuple(
        Line(
            finding=f.id,
            points=from_milli(worth[n]),
            effect=effect,
            counted=counts[n],
            status=f.status,
            staff=f.staff,
            explanation=describe(rule, f, worth[n])
            + ("" if counts[n] else " (a higher level of this achievement counts)"),
        )
        for n, f in enumerate(findings)
    )
    raw = sum(w for w, c in zip(worth, counts) if c)
    cap = getattr(rule, "max_points", None)
    capped = cap is not None and raw > to_milli(cap)
    milli = to_milli(cap) if capped else raw
    deducted, added = (0, milli) if effect == "add" else (milli, 0)
    score = IndicatorScore(
        **common, deducted=from_milli(deducted), added=from_milli(added), capped=capped, lines=lines
    )
    return score, deducted, added


def _measured(rule, m: Measurement | None, common: dict) -> tuple[IndicatorScore, int, int]:
    if m is None:
        empty = IndicatorScore(**common, deducted=0.0, added=0.0, capped=False, missing_measurement=True)
        return empty, 0, 0
    use = MeasurementUse(id=m.id, metric=m.metric, value=m.value, source=m.source, elapsed=m.elapsed)
    if isinstance(rule, StagedTarget):
        level, stage, shortfall = staged_level(rule, m.value, m.elapsed)
        warning = None
        if level:
            warning = StagedWarning(
                indicator=common["code"],
                level=WARNING_LEVELS[level - 1],
                stage_at=rule.stages[stage].at,
                stage_target=rule.stages[stage].target,
                value=m.value,
                shortfall=shortfall,
                measurement=m.id,
            )
        score = IndicatorScore(
            **common, deducted=0.0, added=0.0, capped=False, measurement=use, warning=warning
        )
        return score, 0, 0
    delta = target_delta_milli(rule, m.value)
    capped = isinstance(rule, Target) and delta == to_milli(rule.max_addition) and delta > 0
    deducted, added = max(0, -delta), max(0, delta)
    score = IndicatorScore(
        **common,
        deducted=from_milli(deducted),
        added=from_milli(added),
        capped=capped,
        measurement=use,
    )
    return score, deducted, added


def _item(catalog: Catalog, item: Item, parts) -> tuple[ItemScore, int]:
    """An item's explanation and its contribution in milli-points (penalty: points taken off)."""
    deducted = sum(p[2] for p in parts)
    added = sum(p[3] for p in parts)
    points = item.max_points(catalog.scale)
    cap = None if points is None else to_milli(points)
    floored = capped = False
    if item.kind == "scored":
        raw = cap + added - deducted
        floored = raw < 0
        milli = max(0, raw)
    elif item.kind == "bonus":
        capped = cap is not None and added > cap
        milli = cap if capped else added
    else:
        capped = deducted > cap
        milli = cap if capped else deducted
    direct = tuple(score for entry, score, _, _ in parts if entry.sub_item is None)
    subs = []
    for sub in item.sub_items:
        # By code, not identity: the cached index may come from an equal but distinct catalog.
        mine = [p for p in parts if p[0].sub_item is not None and p[0].sub_item.code == sub.code]
        subs.append(
            SubItemScore(
                code=sub.code,
                name=sub.name,
                name_en=sub.name_en,
                deducted=from_milli(sum(p[2] for p in mine)),
                added=from_milli(sum(p[3] for p in mine)),
                indicators=tuple(p[1] for p in mine),
            )
        )
    score = ItemScore(
        code=item.code,
        name=item.name,
        name_en=item.name_en,
        kind=item.kind,
        points=points,
        deducted=from_milli(deducted),
        added=from_milli(added),
        score=from_milli(milli),
        floored=floored,
        capped=capped,
        indicators=direct,
        sub_items=tuple(subs),
    )
    return score, milli
