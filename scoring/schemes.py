"""Scheme model: how sub-period rates, bonus, lines, grades and ranks combine.

A scheme is data, not code. Its total is::

    total = scale * sum(weight_c / 100 * rate_c) + min(bonus, bonus.cap)

where ``rate_c`` is the mean of component ``c``'s sub-period score rates
(score / maximum, e.g. 0.93). The branch-office annual scheme of the seeds is
key work (quarterly, 50 %) + routine work (half-yearly, 50 %), bonus <= 10.

:class:`Grading` and :class:`Ranking` are shared with period leaderboards.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

from .model import Code, Name

__all__ = [
    "GradeBand",
    "Grading",
    "Ranking",
    "Component",
    "BonusPolicy",
    "Scheme",
]

Line = Annotated[float, Meta(ge=0, le=1_000_000)]


class _Node(Struct, frozen=True, forbid_unknown_fields=True):
    pass


class GradeBand(_Node):
    """A grade reached when the total is at least ``min`` (``min_inclusive``) or above it.

    Bands are listed best first; the last band has no ``min`` and catches the rest.
    """

    code: Code
    name: Name
    name_en: Name
    min: Line | None = None
    min_inclusive: bool = True


class Grading(_Node):
    """Grade bands and lines applied to a total.

    - passed: ``total >= pass_line`` (inclusive) and not vetoed;
    - accountability: ``total < accountability_line`` (exclusive);
    - a vetoed subject gets ``veto_grade`` whatever its points, when set.
    """

    bands: tuple[GradeBand, ...] = ()
    pass_line: Line | None = None
    accountability_line: Line | None = None
    veto_grade: Code | None = None


class Ranking(_Node):
    """Leaderboard rules.

    Subjects are ordered by total, then each ``tie_break`` code (item or
    component scores, higher first); subjects equal on all of these share a
    rank (1, 2, 2, 4). The unit code orders the listing of equals only and
    never decides a quota. Commended: non-vetoed subjects whose rank among
    non-vetoed subjects is within ``commend_top`` or ``floor(commend_top_share
    * n)``, n counting every ranked subject. Flagged: subjects whose rank from
    the bottom is within ``flag_bottom``. Ties at a boundary are all in.
    """

    tie_break: tuple[Code, ...] = ()
    commend_top_share: Annotated[float, Meta(ge=0, le=1)] | None = None
    commend_top: Annotated[int, Meta(ge=0)] | None = None
    flag_bottom: Annotated[int, Meta(ge=0)] | None = None


class Component(_Node):
    """One weighted part of a scheme, scored over ``subperiods`` sub-periods.

    ``missing`` says what a missing sub-period rate means: ``error`` refuses,
    ``skip`` averages the present ones, ``zero`` counts it as 0.
    ``source`` is ``catalog`` when rates come from catalog scores (optionally
    naming ``catalog``), ``rate`` when they are supplied (e.g. an evaluation).
    """

    code: Code
    name: Name
    name_en: Name
    weight: Annotated[float, Meta(gt=0, le=100)]
    period: Literal["month", "quarter", "half_year", "year"]
    subperiods: Annotated[int, Meta(ge=1, le=12)] = 1
    source: Literal["catalog", "rate"] = "catalog"
    catalog: Code | None = None
    missing: Literal["error", "skip", "zero"] = "error"


class BonusPolicy(_Node):
    """Bonus added after weighting; ``cap`` bounds it (None: uncapped)."""

    cap: Line | None = None


class Scheme(_Node):
    code: Code
    version: Annotated[int, Meta(ge=1)]
    name: Name
    name_en: Name
    subject: Literal["unit", "individual"]
    components: Annotated[tuple[Component, ...], Meta(min_length=1)]
    scale: Annotated[float, Meta(gt=0, le=100_000)] = 100.0
    decimals: Annotated[int, Meta(ge=0, le=3)] = 2
    bonus: BonusPolicy = BonusPolicy()
    grading: Grading = Grading()
    ranking: Ranking | None = None
    note: str = ""
