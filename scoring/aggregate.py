"""Scheme aggregation: sub-period rates -> weighted total + capped bonus -> grade -> rank.

Arithmetic is exact (fractions) and the total is rounded half up to the
scheme's ``decimals`` before any line, band or rank looks at it: the published
figure is the one that decides.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Mapping, Sequence

from msgspec.structs import replace

from .errors import SchemeError
from .grading import apply_grading, exact, rank
from .points import to_milli
from .results import ComponentResult, SchemeResult, UnitScore
from .schemes import Component, Scheme

__all__ = ["rate_of", "score_scheme", "score_scheme_all"]

Rate = Fraction | float | int


def rate_of(score: UnitScore) -> Fraction:
    """A unit score's rate (得分率): its total over the catalog scale, exactly."""
    return Fraction(to_milli(score.total), to_milli(score.scale))


def score_scheme(
    scheme: Scheme,
    subject: str,
    rates: Mapping[str, Sequence[Rate | None]],
    *,
    bonus: Rate = 0,
    vetoed: bool = False,
) -> SchemeResult:
    """One subject's result: ``rates`` maps component code -> sub-period rates in order.

    A rate is a share (0.93 for 93 %); ``None`` marks a missing sub-period,
    handled by the component's ``missing`` policy. ``bonus`` is the bonus
    claimed, capped by the scheme. Raises :class:`SchemeError` on unknown or
    missing components, too many sub-periods, or a refused missing rate.
    """
    unknown = set(rates) - {c.code for c in scheme.components}
    if unknown:
        raise SchemeError(f"unknown components {sorted(unknown)} for subject {subject}")
    weighted = Fraction(0)
    parts = []
    for component in scheme.components:
        rate, subrates = _component_rate(component, rates.get(component.code), subject)
        points = exact(component.weight) / 100 * rate * exact(scheme.scale)
        weighted += points
        parts.append(
            ComponentResult(
                code=component.code,
                rate=float(rate),
                subperiod_rates=subrates,
                points=float(_round(points, scheme.decimals)),
            )
        )
    claimed = exact(bonus)
    if claimed < 0:
        raise SchemeError(f"negative bonus for subject {subject}")
    kept = claimed if scheme.bonus.cap is None else min(claimed, exact(scheme.bonus.cap))
    total = _round(weighted + kept, scheme.decimals)
    standing = apply_grading(scheme.grading, total, vetoed)
    return SchemeResult(
        subject=subject,
        scheme=scheme.code,
        scheme_version=scheme.version,
        components=tuple(parts),
        bonus_claimed=float(claimed),
        bonus=float(kept),
        total=float(total),
        vetoed=vetoed,
        grade=standing.grade,
        passed=standing.passed,
        accountability=standing.accountability,
    )


def score_scheme_all(
    scheme: Scheme,
    subjects: Mapping[str, Mapping[str, Sequence[Rate | None]]],
    *,
    bonus: Mapping[str, Rate] | None = None,
    vetoed: Mapping[str, bool] | None = None,
) -> list[SchemeResult]:
    """Score and rank many subjects; results come in ``subjects`` order.

    Ranking keys: the published total, then the ``tie_break`` components' rates.
    """
    bonus = bonus or {}
    vetoed = vetoed or {}
    results = [
        score_scheme(scheme, s, r, bonus=bonus.get(s, 0), vetoed=vetoed.get(s, False))
        for s, r in subjects.items()
    ]
    if scheme.ranking is None:
        return results
    positions = {c.code: n for n, c in enumerate(scheme.components)}
    keys = [
        (exact(r.total), *(exact(r.components[positions[c]].rate) for c in scheme.ranking.tie_break))
        for r in results
    ]
    places = rank(keys, [r.vetoed for r in results], scheme.ranking)
    return [
        replace(r, rank=p.rank, commended=p.commended, flagged=p.flagged)
        for r, p in zip(results, places)
    ]


def _component_rate(
    component: Component, given: Sequence[Rate | None] | None, subject: str
) -> tuple[Fraction, tuple[float | None, ...]]:
    if given is None:
        given = ()
    if len(given) > component.subperiods:
        raise SchemeError(
            f"{len(given)} rates for {component.code}, which has {component.subperiods} sub-periods"
            f" (subject {subject})"
        )
    padded = list(given) + [None] * (component.subperiods - len(given))
    present = [exact(r) for r in padded if r is not None]
    if any(r < 0 for r in present):
        raise SchemeError(f"negative rate for {component.code} (subject {subject})")
    if len(present) < len(padded):
        if component.missing == "error":
            raise SchemeError(
                f"{component.code} lacks {len(padded) - len(present)} of "
                f"{component.subperiods} sub-period rates (subject {subject})"
            )
        if component.missing == "zero":
            present += [Fraction(0)] * (len(padded) - len(present))
    rate = sum(present, Fraction(0)) / len(present) if present else Fraction(0)
    return rate, tuple(None if r is None else float(exact(r)) for r in padded)


def _round(value: Fraction, decimals: int) -> Fraction:
    """Round half up (the way scores are published), to ``decimals`` places."""
    scale = 10**decimals
    return Fraction(math.floor(value * scale + Fraction(1, 2)), scale)
