"""The chiefs' review queue: proposed deductions beside their photos; decisions one at a time
or in bulk. The queue and the decisions are api.review's, as for ``/api/v1/reviews``."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from sqlalchemy import ColumnElement

from api import review
from api.console import lookups
from api.console.forms import failed, form_values, parse, succeeded
from api.console.render import page, redirect, safe_next, translator
from api.console.session import allow
from api.deps import DB, AppSettings
from api.errors import ApiError, Conflict, NotFound
from api.models_scoring import Deduction
from api.schemas.review import MAX_BULK, BulkDecision, DecisionCreate, ReviewItem
from api.security import Principal
from evidence.flags import FlagCode

__all__ = ["ReviewPages"]

Req = Request[Principal, Any, Any]
QUEUE = "/console/review"


async def _context(db: DB, user: Principal, items: list[ReviewItem]) -> dict[str, Any]:
    photos = await lookups.photos(db, user, {e.id for item in items for e in item.evidence})
    for item in items:
        for shown in item.evidence:  # distance to the visited unit, as the queue computed it
            if str(shown.id) in photos:
                photos[str(shown.id)].distance_m = shown.distance_m
    units = {i.unit_code for i in items} | {i.finding.visited_unit for i in items if i.finding}
    units |= {e.unit_code for p in photos.values() for e in p.earlier if e.unit_code}
    names = await lookups.names_for(db, units, {i.period_code for i in items})
    return {"items": items, "photos": photos, "names": names}


class ReviewPages(Controller):
    path = QUEUE
    guards = [allow("chief")]  # as /api/v1/reviews: judging marks is a chief's work

    @get("/", name="console-review")
    async def queue(self, request: Req, db: DB, period: FromQuery[str | None] = None,
                    flag: FromQuery[FlagCode | None] = None) -> Any:
        filters: list[ColumnElement[bool]] = [] if period is None else [Deduction.period_code == period]
        items = await review.review_queue(db, filters, None if flag is None else flag.value)
        periods = await lookups.periods(db)
        context = await _context(db, request.user, items)
        return page(request, "review.html", periods=periods, period=period, flag=flag and flag.value,
                    flags=[f.value for f in FlagCode], detail=False, **context)

    @get("/{deduction_id:uuid}", name="console-review-one")
    async def one(self, request: Req, db: DB, deduction_id: FromPath[uuid.UUID]) -> Any:
        items = await review.review_queue(db, [Deduction.id == deduction_id], None)
        if not items:
            raise NotFound("This deduction is not waiting for review.", details={"deduction_id": str(deduction_id)})
        return page(request, "review_one.html", detail=True, **await _context(db, request.user, items))

    @post("/{deduction_id:uuid}/decision", name="console-decide")
    async def decide(self, request: Req, db: DB, settings: AppSettings, deduction_id: FromPath[uuid.UUID]) -> Any:
        values = await form_values(request)
        back = safe_next(values.pop("back", None), QUEUE)
        try:
            data = parse(values, DecisionCreate)
            out = await review.decide(db, deduction_id, data, request.user, settings.holiday_dates)
            await db.commit()
        except ApiError as exc:
            # Decided already (a second click, another chief): it has left the queue, and its
            # own page would be a 404 now; other refusals go back to the form.
            gone = isinstance(exc, Conflict) and exc.code == "ALREADY_DECIDED"
            return await failed(request, db, exc, QUEUE if gone and back.startswith(f"{QUEUE}/") else back)
        # The deduction has left the queue: its own page would be a 404 now.
        target = QUEUE if back.startswith(f"{QUEUE}/") else back
        return succeeded(request, target, f"review.done.{out.status}")

    @post("/bulk", name="console-decide-many")
    async def decide_many(self, request: Req, db: DB, settings: AppSettings) -> Any:
        values = await form_values(request)
        back = safe_next(values.pop("back", None), QUEUE)
        ids = values.pop("deduction_ids", [])
        if not ids:
            return redirect(back, flash=("error", translator(request)("review.bulk_none")))
        if len(ids) > MAX_BULK:  # as the API: one request decides at most that many
            return redirect(back, flash=("error", translator(request)("review.bulk_too_many", limit=MAX_BULK)))
        try:
            items = [parse({**values, "deduction_id": value}, BulkDecision) for value in ids]
        except ApiError as exc:
            return await failed(request, db, exc, back)
        results = await review.decide_many(db, items, request.user, settings.holiday_dates)
        refused = [r for r in results if r.error is not None]
        text = translator(request)("review.bulk_done", ok=len(results) - len(refused), failed=len(refused))
        if refused:
            text += " " + "; ".join(f"{str(r.deduction_id)[:8]}: {r.error.message}" for r in refused[:5] if r.error)
        return redirect(back, flash=("error" if refused else "ok", text))
