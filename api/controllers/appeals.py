"""Appeals: units file them against deductions standing against them; chiefs answer them."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK

from api import appeals
from api.controllers.params import CodeFilter, Limit, Offset
from api.db import utcnow
from api.deps import DB, AppSettings
from api.models_review import Appeal
from api.schemas.common import Page
from api.schemas.review import AppealCreate, AppealDecision, AppealOut
from api.security import Principal, requires
from api.workdays import china_date

__all__ = ["AppealController", "DeductionAppealController"]

Req = Request[Principal, Any, Any]
AppealStatus = Literal["open", "upheld", "overturned", "partial"]


class DeductionAppealController(Controller):
    path = "/api/v1/deductions"
    tags = ["review"]

    @post("/{deduction_id:uuid}/appeals", operation_id="fileAppeal", guards=[requires("unit")],
          summary="Appeal a deduction standing against your unit (within the appeal window)",
          description="Within SPOTCHECK_APPEAL_WINDOW_DAYS working days of the decision; a text and optionally "
                      "photos the unit may see. One appeal per deduction.")
    async def file(self, request: Req, deduction_id: FromPath[uuid.UUID], data: JSONBody[AppealCreate], db: DB,
                   settings: AppSettings) -> AppealOut:
        row = await appeals.file_appeal(db, deduction_id, data, request.user, settings.appeal_window_days,
                                        settings.appeal_answer_days, settings.holiday_dates,
                                        committee_size=settings.appeal_committee_size)
        await db.commit()
        return appeals.appeal_out(row)


class AppealController(Controller):
    path = "/api/v1/appeals"
    tags = ["review"]

    @get("/", operation_id="listAppeals", guards=[requires("admin", "chief", "unit")],
         summary="Appeals (a unit: its own); overdue=true: unanswered past their answer date")
    async def list_appeals(self, request: Req, db: DB, overdue: FromQuery[bool] = False,
                           status: FromQuery[AppealStatus | None] = None, unit_code: CodeFilter = None,
                           period: CodeFilter = None, limit: Limit = 50, offset: Offset = 0) -> Page[AppealOut]:
        filters = []
        if overdue:
            filters += [Appeal.status == "open", Appeal.answer_by < china_date(utcnow())]
        if status is not None:
            filters.append(Appeal.status == status)
        if unit_code is not None:
            filters.append(Appeal.unit_code == unit_code)
        if period is not None:
            filters.append(Appeal.period_code == period)
        return Page(**await appeals.appeals_page(db, request.user, filters, limit=limit, offset=offset))

    @post("/{appeal_id:uuid}/decision", operation_id="decideAppeal", guards=[requires("chief")], status_code=HTTP_200_OK,
          summary="Answer an appeal (or vote on it): uphold, overturn or partial (new points), with a reason",
          description="The deduction follows: overturned -> rejected, partial -> adjusted at the new points. With a "
                      "committee (SPOTCHECK_APPEAL_COMMITTEE_SIZE > 1) each eligible chief votes once; the appeal "
                      "stays open with the votes so far until the last vote, then the median vote decides.")
    async def decide(self, request: Req, appeal_id: FromPath[uuid.UUID], data: JSONBody[AppealDecision], db: DB) -> AppealOut:
        row, votes = await appeals.decide_appeal(db, appeal_id, data, request.user)
        await db.commit()
        return appeals.appeal_out(row, votes)
