"""The vectorized scorer: every unit of a period at once, with numpy.

Same rules and the same integer milli-points as :mod:`scoring.explain`, so
the numbers are identical (tests check it on random data); it only skips the
explanation. Sums of milli-points go through float64 ``bincount`` and matrix
products, which are exact for integers below 2**53.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .arrays import FindingArrays, MetricArrays
from .compiled import Compiled, Kind, compile_catalog
from .errors import InputError
from .grading import commend_quota
from .inputs import Basis, Unit, unit_tier
from .model import Catalog, Target
from .points import MILLI, to_milli
from .rules import EPS
from .schemes import Grading, Ranking
from .validation import check_ranking

__all__ = ["BatchScores", "score_batch"]


@dataclass(frozen=True)
class BatchScores:
    """Scores of ``units`` (rows) for one period; points are float arrays.

    ``warning_level`` is the gravest staged-target warning (0 none, 1 watch,
    2 warning, 3 serious warning) and ``warnings`` how many indicators lag.
    ``grade`` holds grade codes (None without grading); ``rank``,
    ``commended``, ``flagged`` are set only with a ranking.
    """

    units: tuple[str, ...]
    item_codes: tuple[str, ...]
    items: np.ndarray
    scored_total: np.ndarray
    bonus: np.ndarray
    penalty: np.ndarray
    total: np.ndarray
    vetoed: np.ndarray
    warning_level: np.ndarray
    warnings: np.ndarray
    grade: tuple[str | None, ...] | None
    passed: np.ndarray | None
    accountability: np.ndarray | None
    rank: np.ndarray | None
    commended: np.ndarray | None
    flagged: np.ndarray | None


def score_batch(
    catalog: Catalog,
    units: Sequence[Unit],
    findings: FindingArrays,
    metrics: MetricArrays | None = None,
    *,
    basis: Basis = "provisional",
    grading: Grading | None = None,
    ranking: Ranking | None = None,
) -> BatchScores:
    """Score all ``units`` from column arrays (see :mod:`scoring.arrays`)."""
    c = compile_catalog(catalog)
    n_units, n_ind = len(units), len(c.indicator_codes)
    if basis == "confirmed":
        findings = findings.take(findings.confirmed)
    elif basis != "provisional":
        raise ValueError(f"basis must be 'provisional' or 'confirmed', not {basis!r}")
    _check(c, n_units, findings)
    u, ind = findings.unit.astype(np.int64), findings.indicator.astype(np.int64)
    kind = c.kind[ind]
    worth = _finding_milli(catalog, c, units, findings, u, ind, kind)
    vetoed = np.zeros(n_units, bool)
    vetoed[u[kind == Kind.VETO]] = True

    flat = np.bincount(u * n_ind + ind, weights=worth, minlength=n_units * n_ind)
    per_indicator = np.minimum(flat.reshape(n_units, n_ind), c.cap_milli)
    deducted = np.where(c.adds, 0.0, per_indicator)
    added = np.where(c.adds, per_indicator, 0.0)
    if metrics is None:
        shape = (n_units, len(c.metrics))
        metrics = MetricArrays(np.full(shape, np.nan), np.ones(shape))
    for k, metric, rule in c.targets:
        delta = _target_delta(rule, metrics.value[:, metric])
        deducted[:, k] = np.maximum(0.0, -delta)
        added[:, k] = np.maximum(0.0, delta)
    warning_level = np.zeros(n_units, np.int8)
    warnings = np.zeros(n_units, np.int32)
    for k, metric, rule in c.staged:
        level = _staged_level(rule, metrics.value[:, metric], metrics.elapsed[:, metric])
        warning_level = np.maximum(warning_level, level)
        warnings += level > 0

    onehot = np.zeros((n_ind, len(c.item_codes)))
    onehot[np.arange(n_ind), c.item] = 1.0
    item_deducted, item_added = deducted @ onehot, added @ onehot
    cap = c.item_cap_milli
    items = np.where(
        c.item_kind == 0,
        np.maximum(0.0, cap + item_added - item_deducted),
        np.where(c.item_kind == 1, np.minimum(item_added, cap), np.minimum(item_deducted, cap)),
    )
    scored = items[:, c.item_kind == 0].sum(axis=1)
    bonus = np.minimum(items[:, c.item_kind == 1].sum(axis=1), c.bonus_cap_milli)
    penalty = items[:, c.item_kind == 2].sum(axis=1)
    total = np.maximum(0.0, scored + bonus - penalty).astype(np.int64)

    grade, passed, accountability = _grading(grading, total, vetoed)
    rank = commended = flagged = None
    if ranking is not None:
        check_ranking(ranking, c.item_codes, "ranking", InputError)
        keys = [total] + [items[:, c.item_codes.index(code)].astype(np.int64) for code in ranking.tie_break]
        rank, commended, flagged = _rank(keys, vetoed, ranking)
    return BatchScores(
        units=tuple(x.code for x in units),
        item_codes=c.item_codes,
        items=items / MILLI,
        scored_total=scored / MILLI,
        bonus=bonus / MILLI,
        penalty=penalty / MILLI,
        total=total / MILLI,
        vetoed=vetoed,
        warning_level=warning_level,
        warnings=warnings,
        grade=grade,
        passed=passed,
        accountability=accountability,
        rank=rank,
        commended=commended,
        flagged=flagged,
    )


def _check(c: Compiled, n_units: int, f: FindingArrays) -> None:
    """Refuse rows the explainable path would refuse, naming the first bad row."""
    n_ind = len(c.indicator_codes)
    bad = (f.unit < 0) | (f.unit >= n_units) | (f.indicator < 0) | (f.indicator >= n_ind)
    _raise_first(f, bad, "unknown unit or indicator number")
    kind = c.kind[f.indicator]
    _raise_first(f, np.isin(kind, Kind.MEASURED), "indicator is scored from measurements, not findings")
    _raise_first(f, f.count < 1, "count must be at least 1")
    _raise_first(f, (kind == Kind.PER_QUANTITY) & np.isnan(f.quantity), "a per-quantity rule needs a quantity")
    levels = kind == Kind.BONUS_LEVELS
    owner = np.full(len(f), -1)
    ok = levels & (f.level >= 0) & (f.level < len(c.level_indicator))
    owner[ok] = c.level_indicator[f.level[ok]]
    _raise_first(f, levels & (owner != f.indicator), "level is not a level of this indicator")
    _raise_first(f, levels & (f.achievement < 0), "a level-table bonus needs its achievement")


def _raise_first(f: FindingArrays, bad: np.ndarray, message: str) -> None:
    if bad.any():
        raise InputError(message, f.ref(int(np.flatnonzero(bad)[0])))


def _finding_milli(catalog, c: Compiled, units, f: FindingArrays, u, ind, kind) -> np.ndarray:
    """Each row's milli-points as float64 (exact integers), as :func:`scoring.rules.finding_milli`."""
    worth = np.zeros(len(f), np.int64)
    occ = (kind == Kind.PER_OCCURRENCE) | (kind == Kind.BONUS_OCCURRENCE)
    worth[occ] = f.count[occ] * c.points_milli[ind[occ]]
    qty = kind == Kind.PER_QUANTITY
    worth[qty] = np.rint(f.quantity[qty] * c.points_float[ind[qty]] * float(MILLI)).astype(np.int64)
    tiered = kind == Kind.TIER_BONUS
    if tiered.any():
        tiers = np.zeros(len(units), np.int64)
        for n in np.unique(u[tiered]):
            tiers[n] = unit_tier(catalog, units[n])
        worth[tiered] = f.count[tiered] * c.tier_milli[ind[tiered], tiers[u[tiered]] - 1]
    # Points adjusted on review replace the rule's (vetoes stay worth 0).
    adjusted = np.zeros(len(f), bool)
    if f.points is not None:
        adjusted = ~np.isnan(f.points) & (kind != Kind.VETO)
        worth[adjusted] = np.rint(f.points[adjusted] * float(MILLI)).astype(np.int64)
    levels = np.flatnonzero(kind == Kind.BONUS_LEVELS)
    if len(levels):
        value = np.where(adjusted[levels], worth[levels], c.level_milli[f.level[levels]])
        group, ach = u[levels] * len(c.indicator_codes) + ind[levels], f.achievement[levels]
        # Highest level first within each (unit, indicator, achievement); keep only that one.
        order = np.lexsort((-value, ach, group))
        first = np.ones(len(order), bool)
        first[1:] = (group[order][1:] != group[order][:-1]) | (ach[order][1:] != ach[order][:-1])
        kept = np.zeros(len(levels), np.int64)
        kept[order[first]] = value[order[first]]
        worth[levels] = kept
    return worth.astype(np.float64)


def _target_delta(rule, value: np.ndarray) -> np.ndarray:
    """:func:`scoring.rules.target_delta_milli` on a column; NaN (not measured) gives 0."""
    diff = value - rule.target
    up = diff / rule.step
    down = -diff / rule.step
    if rule.whole_steps:
        up, down = np.floor(up + EPS), np.floor(down + EPS)
    added = np.zeros_like(value)
    if isinstance(rule, Target):
        added = np.minimum(np.rint(up * rule.add_per_step * MILLI), to_milli(rule.max_addition))
    delta = np.where(diff >= 0, added, -np.rint(down * rule.deduct_per_step * MILLI))
    return np.where(np.isnan(value), 0.0, delta)


def _staged_level(rule, value: np.ndarray, elapsed: np.ndarray) -> np.ndarray:
    """:func:`scoring.rules.staged_level` on a column; NaN comparisons give level 0."""
    stage_target = np.full_like(value, np.nan)
    for stage in rule.stages:
        stage_target = np.where(stage.at <= elapsed + EPS, stage.target, stage_target)
    shortfall = stage_target - value
    level = np.zeros(len(value), np.int8)
    for threshold in rule.levels:
        reached = (shortfall > 0) & (shortfall >= threshold.min_shortfall)
        level = np.where(reached, _LEVEL[threshold.level], level).astype(np.int8)
    return level


_LEVEL = {"watch": 1, "warning": 2, "serious_warning": 3}


def _grading(grading: Grading | None, total: np.ndarray, vetoed: np.ndarray):
    """Grades and lines on milli-point totals, as :func:`scoring.grading.apply_grading`."""
    if grading is None:
        return None, None, None
    codes = np.full(len(total), -1)
    for n, band in enumerate(grading.bands):
        if band.min is None:
            hit = np.ones(len(total), bool)
        else:
            line = to_milli(band.min)
            hit = (total > line) | ((total == line) if band.min_inclusive else False)
        codes = np.where((codes < 0) & hit, n, codes)
    grade = [None if k < 0 else grading.bands[k].code for k in codes]
    if grading.veto_grade is not None:
        grade = [grading.veto_grade if v else g for g, v in zip(grade, vetoed)]
    passed = accountability = None
    if grading.pass_line is not None:
        passed = ~vetoed & (total >= to_milli(grading.pass_line))
    if grading.accountability_line is not None:
        accountability = total < to_milli(grading.accountability_line)
    return tuple(grade), passed, accountability


def _rank(keys: list[np.ndarray], vetoed: np.ndarray, ranking: Ranking):
    n = len(vetoed)
    rank = _competition_ranks(keys)
    commended = np.zeros(n, bool)
    quota = commend_quota(ranking, n)
    if quota:
        eligible = np.flatnonzero(~vetoed)
        commended[eligible] = _competition_ranks([k[eligible] for k in keys]) <= quota
    flagged = np.zeros(n, bool)
    if ranking.flag_bottom:
        flagged = _competition_ranks([-k for k in keys]) <= ranking.flag_bottom
    return rank, commended, flagged


def _competition_ranks(keys: list[np.ndarray]) -> np.ndarray:
    """1 + how many rows have strictly greater keys (compared lexicographically)."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, np.int64)
    order = np.lexsort(tuple(-k for k in reversed(keys)))
    change = np.ones(n, bool)
    change[1:] = np.any([k[order][1:] != k[order][:-1] for k in keys], axis=0)
    start = np.maximum.accumulate(np.where(change, np.arange(n), 0))
    ranks = np.empty(n, np.int64)
    ranks[order] = start + 1
    return ranks
