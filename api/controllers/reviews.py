"""Review of proposed deductions: the chiefs' queue and their decisions (one or many).

Judging deductions is a chief's work: admins manage accounts and periods, not marks.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK

from api import review
from api.accounts import named
from api.controllers.params import CodeFilter, Limit, Offset, UsernameFilter
from api.deps import DB, AppSettings
from api.models_field import Finding
from api.models_scoring import Deduction
from api.schemas.common import Page
from api.schemas.review import BulkDecisions, BulkDecisionsOut, DecisionCreate, DecisionOut, ReviewItem
from api.security import Principal, requires
from evidence.flags import FlagCode

__all__ = ["DecisionController", "ReviewController"]

CHIEFS = requires("chief")
Req = Request[Principal, Any, Any]


class ReviewController(Controller):
    path = "/api/v1/reviews"
    tags = ["review"]

    @get("/", operation_id="listReviews", guards=[CHIEFS], summary="Proposed deductions to judge, flagged first",
         description="Each with its finding (note, inspector, team), rule points and photos (SHA-256, thumbnail link, "
                     "capture time and place, distance to the visited unit, integrity flags).")
    async def list_reviews(self, db: DB, period: CodeFilter = None, unit_code: CodeFilter = None,
                           inspector: UsernameFilter = None, flag: FromQuery[FlagCode | None] = None,
                           limit: Limit = 50, offset: Offset = 0) -> Page[ReviewItem]:
        filters = []
        if period is not None:
            filters.append(Deduction.period_code == period)
        if unit_code is not None:
            filters.append(Deduction.unit_code == unit_code)
        if inspector is not None:
            filters.append(named(Finding.inspector, inspector))
        items = await review.review_queue(db, filters, None if flag is None else flag.value)
        return Page(items=items[offset:offset + limit], total=len(items), limit=limit, offset=offset)


class DecisionController(Controller):
    path = "/api/v1/deductions"
    tags = ["review"]

    @post("/{deduction_id:uuid}/decision", operation_id="decideDeduction", guards=[CHIEFS], status_code=HTTP_200_OK,
          summary="Confirm, adjust or reject a proposed deduction (four eyes; recorded in the ledger)")
    async def decide(self, request: Req, deduction_id: FromPath[uuid.UUID], data: JSONBody[DecisionCreate], db: DB,
                     settings: AppSettings) -> DecisionOut:
        out = await review.decide(db, deduction_id, data, request.user, settings.holiday_dates)
        await db.commit()
        return out

    @post("/decisions", operation_id="decideDeductions", guards=[CHIEFS], status_code=HTTP_200_OK,
          summary="Several decisions, each applied or refused on its own",
          description="Each answer carries the decision or the error the single call would have returned.")
    async def decide_many(self, request: Req, data: JSONBody[BulkDecisions], db: DB, settings: AppSettings) -> BulkDecisionsOut:
        results = await review.decide_many(db, data.decisions, request.user, settings.holiday_dates)
        return BulkDecisionsOut(results=results)
