"""The leaderboard (grades, vetoes, warnings) and a unit's score explained, items ->
indicators -> deductions -> evidence, with a chart of item scores against their maximum.
Scores are api.scores', with its rules of who sees what (``/api/v1/leaderboard``,
``/api/v1/units/{code}/scores``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, get
from litestar.params import FromPath, FromQuery
from sqlalchemy import select

from api import scores
from api.console import lookups
from api.console.render import page, translator
from api.console.session import allow
from api.deps import DB
from api.errors import Forbidden
from api.models_field import Finding
from api.periods import get_period, scheme_of
from api.schemas.scores import Basis, ItemScore, UnitScore
from api.security import Principal

__all__ = ["ScorePages", "chart_bars"]

Req = Request[Principal, Any, Any]


@dataclass(frozen=True)
class Bar:
    code: str
    name: str
    name_en: str
    score: float
    maximum: float
    y: int
    width: float  # of the score, in percent of the longest maximum
    full: float  # of the maximum


BAR_HEIGHT = 26


def chart_bars(items: list[ItemScore]) -> list[Bar]:
    """One bar per scored item: its score drawn inside its maximum, all on one scale."""
    scored = [i for i in items if i.kind == "scored" and i.points]
    longest = max((i.points or 0 for i in scored), default=0) or 1
    return [Bar(code=i.code, name=i.name, name_en=i.name_en, score=i.score, maximum=i.points or 0, y=n * BAR_HEIGHT,
                width=round(100 * max(i.score, 0) / longest, 2), full=round(100 * (i.points or 0) / longest, 2))
            for n, i in enumerate(scored)]


def _grade_names(request: Req, bands: Any) -> dict[str, str]:
    """Each grade band's name in the console's language (scores carry the band's code)."""
    zh = translator(request).language == "zh"
    return {band.code: band.name if zh else band.name_en for band in bands}


def _finding_ids(score: UnitScore) -> set[uuid.UUID]:
    found = set()
    for item in score.items:
        indicators = list(item.indicators) + [i for s in item.sub_items for i in s.indicators]
        found |= {d.finding_id for i in indicators for d in i.deductions if d.finding_id is not None}
    return found


class ScorePages(Controller):
    path = "/console"
    guards = [allow()]  # every role reads scores, as in the API (a unit: its own, confirmed)

    @get("/leaderboard", name="console-leaderboard")
    async def leaderboard(self, request: Req, db: DB, period: FromQuery[str | None] = None,
                          basis: FromQuery[Basis] = "confirmed") -> Any:
        chosen, periods = await lookups.choose_period(db, period)
        if chosen is None:
            return page(request, "leaderboard.html", periods=[], period=None, basis=basis, rows=[], items=[])
        try:
            scored, rows = await scores.visible_leaderboard(db, request.user, chosen, basis)
        except Forbidden as exc:
            if exc.code != "NOT_PUBLISHED":
                raise
            # An inspector's start page: say why it is empty, rather than "your role may not".
            return page(request, "leaderboard.html", periods=periods, period=chosen, basis=basis, rows=[], items=[],
                        scale=1, grades={}, notice=translator(request)("board.not_published"))
        items = [(i.code, i.name, i.name_en) for i in scored.catalog.items]
        return page(request, "leaderboard.html", periods=periods, period=chosen, basis=basis, rows=rows, items=items,
                    scale=scored.catalog.scale, grades=_grade_names(request, scored.grading.bands))

    @get("/units/{code:str}", name="console-unit")
    async def unit(self, request: Req, db: DB, code: FromPath[str], period: FromQuery[str | None] = None,
                   basis: FromQuery[Basis] = "confirmed") -> Any:
        chosen, periods = await lookups.choose_period(db, period)
        if chosen is None:
            return page(request, "unit.html", periods=[], period=None, basis=basis, score=None)
        score = await scores.visible_unit_score(db, request.user, code, chosen, basis)
        wanted = sorted(_finding_ids(score))
        evidence = {}
        if wanted:
            rows = await db.execute(select(Finding.id, Finding.evidence_ids).where(Finding.id.in_(wanted)))
            evidence = {finding_id: list(ids) for finding_id, ids in rows}
        photos = await lookups.photos(db, request.user, {e for ids in evidence.values() for e in ids})
        scheme = await scheme_of(db, await get_period(db, chosen))
        return page(request, "unit.html", periods=periods, period=chosen, basis=basis, score=score,
                    bars=chart_bars(score.items), bar_height=BAR_HEIGHT, evidence=evidence, photos=photos,
                    grades=_grade_names(request, scheme.grading.bands))
