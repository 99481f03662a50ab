"""Telling the unit: its standing deductions with their basis, and overdue notices for chiefs."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get

from api import notices
from api.controllers.params import CodeFilter, Limit, Offset
from api.db import utcnow
from api.deps import DB
from api.models_scoring import Deduction
from api.schemas.common import Page
from api.schemas.review import NoticeOut, UnitDeduction
from api.security import Principal, requires
from api.workdays import china_date

__all__ = ["MyDeductionController", "NoticeController"]

Req = Request[Principal, Any, Any]


class MyDeductionController(Controller):
    path = "/api/v1/me/deductions"
    tags = ["review"]

    @get("/", operation_id="listMyDeductions", guards=[requires("unit")],
         summary="The unit's confirmed and adjusted deductions with their basis and appeal (marks them read)",
         description="Rule (indicator), rule points and points counted, the finding's note, the photos it cites "
                     "(readable by the unit), the decision's reason, the notice deadline and the unit's appeal "
                     "(status, answer, partial points). A deduction an appeal overturned stays listed with status "
                     "`rejected`, 0 points counted and its appeal. Listing a deduction the first time records that "
                     "the unit was told.")
    async def list_mine(self, request: Req, db: DB, period: CodeFilter = None, limit: Limit = 50,
                        offset: Offset = 0) -> Page[UnitDeduction]:
        unit_code = request.user.unit_code or ""
        page = await notices.unit_deductions(db, unit_code, period, request.user.username, limit=limit, offset=offset)
        await db.commit()
        return Page(**page)


class NoticeController(Controller):
    path = "/api/v1/deductions/notice-overdue"
    tags = ["review"]

    @get("/", operation_id="listOverdueNotices", guards=[requires("admin", "chief")],
         summary="Standing deductions the unit has not read within 3 working days")
    async def overdue(self, db: DB, period: CodeFilter = None, unit_code: CodeFilter = None,
                      limit: Limit = 50, offset: Offset = 0) -> Page[NoticeOut]:
        filters = []
        if period is not None:
            filters.append(Deduction.period_code == period)
        if unit_code is not None:
            filters.append(Deduction.unit_code == unit_code)
        return Page(**await notices.overdue_notices(db, china_date(utcnow()), filters, limit=limit, offset=offset))
