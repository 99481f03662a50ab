"""Scores: a unit's explained score, the leaderboard, responsible-person totals.

``basis=provisional`` counts every deduction not rejected (what is at stake), ``confirmed``
only those review confirmed or adjusted. A unit account sees only its own unit, confirmed
basis only (another unit's score is a 404, as if it did not exist); on the leaderboard it
sees its own row with its rank among all until the period is published, then every row.
Inspectors see scores once the period is published (一公开). The rules live in api/scores.py,
shared with the console.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.params import FromPath, FromQuery, QueryParameter

from api import scores
from api.controllers.params import Limit, Offset
from api.deps import DB
from api.exports import ExportFormat, HeaderLanguage, export_response
from api.leaderboard_export import leaderboard_table
from api.schemas.common import Page
from api.schemas.scores import Basis, Leaderboard, StaffTotal, UnitScore
from api.security import Principal, requires

__all__ = ["ScoreController"]

Req = Request[Principal, Any, Any]
PeriodParam = Annotated[str, QueryParameter(min_length=1, max_length=100, description="Period code")]
BasisParam = Annotated[Basis, QueryParameter(description="provisional: all deductions not rejected; confirmed: confirmed and adjusted ones")]


class ScoreController(Controller):
    path = "/api/v1"
    tags = ["scores"]

    @get("/units/{code:str}/scores", operation_id="getUnitScore", summary="A unit's score in a period, explained",
         description="Total -> items -> sub-items -> indicators -> deductions (with deduction and finding ids) "
                     "and measurements (with their source), grade, lines, rank and warnings.")
    async def unit_score(self, request: Req, code: FromPath[str], period: PeriodParam, db: DB,
                         basis: BasisParam = "confirmed") -> UnitScore:
        return await scores.visible_unit_score(db, request.user, code, period, basis)

    @get("/leaderboard", operation_id="getLeaderboard", summary="A period's leaderboard",
         description="Every assessed unit by rank (then code): total, item scores, grade, lines, "
                     "commended/flagged, veto and staged-target warnings.")
    async def leaderboard(self, request: Req, period: PeriodParam, db: DB, basis: BasisParam = "confirmed",
                          limit: Limit = 50, offset: Offset = 0) -> Leaderboard:
        scored, rows = await scores.visible_leaderboard(db, request.user, period, basis)
        p = scored.period
        return Leaderboard(period_code=p.code, basis=basis, catalog_code=p.catalog_code, catalog_version=p.catalog_version,
                           scheme_code=p.scheme_code, scheme_version=p.scheme_version,
                           items=rows[offset:offset + limit], total=len(rows), limit=limit, offset=offset)

    @get("/leaderboard/export", operation_id="exportLeaderboard", summary="A period's leaderboard as CSV or XLSX",
         description="The rows of the leaderboard (same rules as the JSON leaderboard): rank, unit, total, one "
                     "column per catalog item, grade, lines, veto and warnings; headers and labels in Chinese "
                     "(lang=zh) or English.")
    async def export_leaderboard(self, request: Req, period: PeriodParam, db: DB, basis: BasisParam = "confirmed",
                                 format: FromQuery[ExportFormat] = "xlsx",
                                 lang: FromQuery[HeaderLanguage] = "zh") -> Response[bytes]:
        scored, rows = await scores.visible_leaderboard(db, request.user, period, basis)
        columns, table = leaderboard_table(scored.catalog, scored.grading, scored.batch.item_codes, rows, lang)
        return export_response(columns, table, fmt=format, lang=lang, filename=f"leaderboard-{period}-{basis}",
                               title="leaderboard")

    @get("/periods/{code:str}/staff-totals", operation_id="getStaffTotals", guards=[requires("admin", "chief", "unit")],
         summary="Points charged to responsible people in a period",
         description="Each deduction is charged to the staff it names (the catalog's attribution: full or split); "
                     "a unit head who failed to deduct is charged the catalog's multiple (double). "
                     "A unit account sees the charges of its own unit's deductions.")
    async def staff_totals(self, request: Req, code: FromPath[str], db: DB, basis: BasisParam = "confirmed",
                           limit: Limit = 50, offset: Offset = 0) -> Page[StaffTotal]:
        scores.check_basis(request.user, basis)
        totals = scores.staff_charges(await scores.period_scores(db, code, basis), scores.own_unit(request.user))
        return Page(items=totals[offset:offset + limit], total=len(totals), limit=limit, offset=offset)
