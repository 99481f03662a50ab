"""A unit's own pages: the deductions standing against it with their basis and photos, the
3-working-day notice dates, its appeals and the appeal form, and the visits it may know of.

Reading the list tells the unit (api.notices marks the first read, as ``GET /me/deductions``);
visits come from api.tasks, which never shows a unit an unannounced visit before it is done.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery

from api import appeals, notices
from api.console import lookups
from api.console.forms import failed, form_values, parse, succeeded
from api.console.render import page, redirect
from api.console.session import allow
from api.db import utcnow
from api.deps import DB, AppSettings
from api.errors import ApiError
from api.schemas.review import AppealCreate
from api.security import Principal
from api.tasks import task_page
from api.workdays import china_date

__all__ = ["UnitPages"]

Req = Request[Principal, Any, Any]
MY = "/console/my"


class UnitPages(Controller):
    path = MY
    guards = [allow("unit")]

    @get("/", name="console-my")
    async def mine(self, request: Req, db: DB, settings: AppSettings, period: FromQuery[str | None] = None) -> Any:
        user = request.user
        listed = await notices.unit_deductions(db, user.unit_code or "", period, user.username, limit=500, offset=0)
        await db.commit()  # the first read is the notice: recorded, as by the API
        items = listed["items"]
        filed = {a.deduction_id: a for a in (await appeals.appeals_page(db, user, [], limit=500, offset=0))["items"]}
        today = china_date(utcnow())
        closes = {d.deduction_id: appeals.appeal_closes(d.decided_at, settings.appeal_window_days, settings.holiday_dates)
                  for d in items}
        photos = await lookups.photos(db, user, {e for d in items for e in d.evidence_ids})
        names = await lookups.names_for(db, {user.unit_code or ""}, {d.period_code for d in items})
        visits = (await task_page(db, user, [], limit=200, offset=0))["items"]
        return page(request, "my.html", items=items, appeals=filed, closes=closes, today=today, photos=photos,
                    names=names, visits=visits, unit_code=user.unit_code)

    @get("/score", name="console-my-score")
    async def score(self, request: Req) -> Any:
        return redirect(f"/console/units/{request.user.unit_code}")

    @post("/deductions/{deduction_id:uuid}/appeal", name="console-file-appeal")
    async def appeal(self, request: Req, db: DB, settings: AppSettings, deduction_id: FromPath[uuid.UUID]) -> Any:
        try:
            data = parse(await form_values(request), AppealCreate)
            await appeals.file_appeal(db, deduction_id, data, request.user, settings.appeal_window_days,
                                      settings.appeal_answer_days, settings.holiday_dates,
                                      committee_size=settings.appeal_committee_size)
            await db.commit()
        except ApiError as exc:
            return await failed(request, db, exc, MY)
        return succeeded(request, MY, "my.appeal_done")
