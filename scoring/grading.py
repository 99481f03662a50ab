"""Grades, lines and ranks, shared by period leaderboards and schemes.

Totals are compared as exact fractions so that a published 85.00 meets a pass
line of 85 whatever float noise the arithmetic might otherwise carry.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple, Sequence

from .schemes import Grading, Ranking

__all__ = ["Standing", "Place", "exact", "apply_grading", "commend_quota", "rank"]


class Standing(NamedTuple):
    grade: str | None
    passed: bool | None
    accountability: bool | None


class Place(NamedTuple):
    rank: int
    commended: bool
    flagged: bool


def exact(value: float | int | Fraction) -> Fraction:
    """``value`` as the fraction of its shortest decimal form (0.1 -> 1/10, not 3602879701896397/36028797018963968)."""
    if isinstance(value, (Fraction, int)):
        return Fraction(value)
    return Fraction(repr(float(value)))


def apply_grading(grading: Grading | None, total: Fraction, vetoed: bool) -> Standing:
    """Grade, pass and accountability of ``total`` under ``grading`` (all None without one).

    Band ``min`` is inclusive unless ``min_inclusive`` is false; the pass line
    is inclusive; the accountability line is exclusive (total below it).
    """
    if grading is None:
        return Standing(None, None, None)
    grade = None
    if vetoed and grading.veto_grade is not None:
        grade = grading.veto_grade
    else:
        for band in grading.bands:
            if band.min is None:
                grade = band.code
                break
            line = exact(band.min)
            if total > line or (band.min_inclusive and total == line):
                grade = band.code
                break
    passed = None if grading.pass_line is None else (not vetoed and total >= exact(grading.pass_line))
    accountability = (
        None if grading.accountability_line is None else total < exact(grading.accountability_line)
    )
    return Standing(grade, passed, accountability)


def rank(keys: Sequence[tuple], vetoed: Sequence[bool], ranking: Ranking | None) -> list[Place]:
    """Places of subjects with sort ``keys`` (higher is better, compared as tuples).

    Equal keys share a rank (competition ranking: 1, 2, 2, 4). Commendation
    and flags follow :class:`scoring.schemes.Ranking`; ties at a quota
    boundary are all in.
    """
    n = len(keys)
    ranks = _competition_ranks(keys)
    commended = [False] * n
    flagged = [False] * n
    if ranking is None:
        return [Place(r, False, False) for r in ranks]
    quota = commend_quota(ranking, n)
    if quota:
        eligible = [i for i in range(n) if not vetoed[i]]
        for i, r in zip(eligible, _competition_ranks([keys[i] for i in eligible])):
            commended[i] = r <= quota
    if ranking.flag_bottom:
        worse_first = _competition_ranks([_negate(k) for k in keys])
        flagged = [r <= ranking.flag_bottom for r in worse_first]
    return [Place(ranks[i], commended[i], flagged[i]) for i in range(n)]


def commend_quota(ranking: Ranking, n: int) -> int:
    """How many of ``n`` ranked subjects may be commended: ``commend_top`` or ``floor(share * n)``."""
    if ranking.commend_top_share is not None:
        # The tiny epsilon keeps 0.3 * 10 at 3 despite binary floats.
        return math.floor(ranking.commend_top_share * n + 1e-9)
    return ranking.commend_top or 0


def _negate(key: tuple) -> tuple:
    return tuple(-v for v in key)


def _competition_ranks(keys: Sequence[tuple]) -> list[int]:
    order = sorted(range(len(keys)), key=lambda i: keys[i], reverse=True)
    ranks = [0] * len(keys)
    for pos, i in enumerate(order):
        if pos and keys[i] == keys[order[pos - 1]]:
            ranks[i] = ranks[order[pos - 1]]
        else:
            ranks[i] = pos + 1
    return ranks
