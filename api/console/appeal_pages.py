"""Appeals to answer, overdue first, each beside the deduction and photos it disputes; a chief
other than the deduction's decider answers (api.appeals, as ``/api/v1/appeals``)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath

from api import appeals
from api.console import lookups
from api.console.forms import failed, form_values, parse, succeeded
from api.console.render import page, redirect
from api.console.session import allow
from api.db import utcnow
from api.deps import DB
from api.errors import ApiError
from api.models_review import Appeal
from api.schemas.review import AppealDecision
from api.security import Principal
from api.workdays import china_date

__all__ = ["AppealPages"]

Req = Request[Principal, Any, Any]
ANSWERED_SHOWN = 50


class AppealPages(Controller):
    path = "/console/appeals"

    @get("/", name="console-appeals", guards=[allow("admin", "chief", "unit")])
    async def appeals(self, request: Req, db: DB) -> Any:
        if request.user.role == "unit":
            return redirect("/console/my")  # a unit's appeals sit beside its deductions
        today = china_date(utcnow())
        waiting = (await appeals.appeals_page(db, request.user, [Appeal.status == "open"], limit=500, offset=0))["items"]
        waiting.sort(key=lambda a: (a.answer_by >= today, a.answer_by, a.filed_at))
        answered = (await appeals.appeals_page(db, request.user, [Appeal.status != "open"], limit=ANSWERED_SHOWN,
                                               offset=0))["items"]
        shown = waiting + answered
        deductions = await lookups.deductions(db, {a.deduction_id for a in shown})
        photo_ids = {e for a in shown for e in a.evidence_ids} | {e for d in deductions.values() for e in d.evidence_ids}
        photos = await lookups.photos(db, request.user, photo_ids)
        units = {a.unit_code for a in shown} | {e.unit_code for p in photos.values() for e in p.earlier if e.unit_code}
        names = await lookups.names_for(db, units, {a.period_code for a in shown})
        return page(request, "appeals.html", waiting=waiting, answered=list(reversed(answered)), today=today,
                    deductions=deductions, photos=photos, names=names)

    @post("/{appeal_id:uuid}/decision", name="console-answer-appeal", guards=[allow("chief")])
    async def answer(self, request: Req, db: DB, appeal_id: FromPath[uuid.UUID]) -> Any:
        back = "/console/appeals"
        try:
            data = parse(await form_values(request), AppealDecision)
            await appeals.decide_appeal(db, appeal_id, data, request.user)
            await db.commit()
        except ApiError as exc:
            return await failed(request, db, exc, back)
        return succeeded(request, back, "appeals.done")
