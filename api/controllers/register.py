"""The deduction register (评分登记表) of a period, per unit or whole, as CSV or XLSX."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.params import FromPath, FromQuery, QueryParameter

from api.deps import DB
from api.exports import ExportFormat, HeaderLanguage, export_response
from api.register import REGISTER_COLUMNS, register_rows
from api.security import Principal, requires

__all__ = ["RegisterController"]

Req = Request[Principal, Any, Any]
UnitParam = Annotated[str | None, QueryParameter(min_length=1, max_length=100,
                                                 description="Unit code (a unit account: its own, the default)")]


class RegisterController(Controller):
    path = "/api/v1/periods"
    tags = ["review"]

    @get("/{code:str}/register", operation_id="exportDeductionRegister", guards=[requires("admin", "chief", "unit")],
         summary="The period's deduction register (评分登记表) as CSV or XLSX",
         description="One row per deduction: unit, item and indicator, points proposed and in force, status "
                     "(proposed, confirmed, adjusted, rejected, appealed, upheld, overturned, partially_overturned), "
                     "finding and note, case file, responsible staff, inspector and team, review reason, appeal "
                     "answer, the cited photos' SHA-256, and when it was recorded, confirmed and told. Chiefs and "
                     "admins: every unit, or `unit`. A unit account: its own unit's deductions decided to stand, "
                     "none from an unannounced visit not yet done; the download counts as being told.")
    async def register(self, request: Req, code: FromPath[str], db: DB, unit: UnitParam = None,
                       format: FromQuery[ExportFormat] = "xlsx", lang: FromQuery[HeaderLanguage] = "zh") -> Response[bytes]:
        rows = await register_rows(db, code, request.user, unit, lang)
        await db.commit()
        scope = unit if unit is not None else (request.user.unit_code if request.user.role == "unit" else "all")
        return export_response(REGISTER_COLUMNS, rows, fmt=format, lang=lang, filename=f"register-{code}-{scope}",
                               title="register")
