"""The draw page: plans, their seed commitments, the draw (run, record, verify) and the task
list with teams, printable. Chiefs and admins only, as ``/api/v1/plans``: a plan reveals
upcoming unannounced visits. The draw itself is api.drawing's."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import sampling
from litestar import Controller, Request, get, post
from litestar.params import FromPath
from sqlalchemy import func, select

from api.console.forms import failed, form_values, parse, succeeded
from api.console.render import page, redirect, translator
from api.console.session import allow
from api.controllers.plans import check_period, plan_out, plan_row
from api.deps import DB
from api.drawing import execute_draw, verify_stored_draw
from api.errors import ApiError, NotFound
from api.models import Inspector
from api.models_draws import Draw, Plan, Task
from api.schemas.plans import DrawRequest
from api.security import Principal
from api.tasks import all_tasks

__all__ = ["DrawPages"]

Req = Request[Principal, Any, Any]


class DrawPages(Controller):
    path = "/console/plans"
    guards = [allow("admin", "chief")]

    @get("/", name="console-plans")
    async def plans(self, request: Req, db: DB) -> Any:
        rows = (await db.execute(select(Plan).order_by(Plan.created_at.desc(), Plan.id).limit(200))).scalars().all()
        counts = {plan_id: n for plan_id, n in await db.execute(select(Task.plan_id, func.count()).group_by(Task.plan_id))}
        return page(request, "plans.html", plans=[plan_out(p) for p in rows], counts=counts)

    @get("/{plan_id:uuid}", name="console-plan")
    async def plan(self, request: Req, db: DB, plan_id: FromPath[uuid.UUID]) -> Any:
        plan = plan_out(await plan_row(db, plan_id))
        draw = (await db.execute(select(Draw).where(Draw.plan_id == plan_id))).scalar_one_or_none()
        tasks = await all_tasks(db, plan_id)
        members = {u for t in tasks for u in t.team}
        query = select(Inspector.username, Inspector.name).where(Inspector.username.in_(sorted(members)))
        names = {username: name for username, name in await db.execute(query)} if members else {}
        params = msgspec.json.format(msgspec.json.encode(plan.params), indent=2).decode()
        return page(request, "plan.html", plan=plan, draw=draw, tasks=tasks, inspectors=names, params=params)

    @post("/{plan_id:uuid}/draw", name="console-draw")
    async def draw(self, request: Req, db: DB, plan_id: FromPath[uuid.UUID]) -> Any:
        back = f"/console/plans/{plan_id}"
        values = await form_values(request)
        try:
            data = parse({"seed": values.get("seed", "")}, DrawRequest)
            plan = await plan_row(db, plan_id, for_update=True)
            await check_period(db, plan.period)  # as the API's draw: a locked period takes no draws
            row = await execute_draw(db, plan, data.seed or "", request.user.username)
            await db.commit()
        except (ApiError, sampling.SamplingError) as exc:
            return await failed(request, db, exc, back)
        count = len(row.record["assignment"]["tasks"]) if row.record.get("assignment") else 0
        return succeeded(request, back, "plan.drawn_ok", n=count)

    @post("/{plan_id:uuid}/verify", name="console-verify")
    async def verify(self, request: Req, db: DB, plan_id: FromPath[uuid.UUID]) -> Any:
        back = f"/console/plans/{plan_id}"
        row = (await db.execute(select(Draw).where(Draw.plan_id == plan_id))).scalar_one_or_none()
        if row is None:
            raise NotFound("This plan has not been drawn.", details={"plan_id": str(plan_id)})
        result = await verify_stored_draw(db, row, against="recorded")
        if result.ok:
            return succeeded(request, back, "plan.verified")
        first = result.differences[0]
        return redirect(back, flash=("error", translator(request)("plan.verify_failed", first=f"{first.path}: {first.message}")))
