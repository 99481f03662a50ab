"""Spot-check plans: create and edit while draft, draw, export the task list."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import sampling
from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy import func, select

from api import audit
from api.controllers.params import CodeFilter, Limit, Offset
from api.db import sqlite_write_lock
from api.deps import DB
from api.drawing import POPULATION_FIELDS, draw_summary, execute_draw
from api.errors import Conflict, NotFound, ValidationFailed
from api.exports import Column, ExportFormat, HeaderLanguage, export_response
from api.models_draws import Plan
from api.periods import open_period
from api.schemas.common import Page
from api.schemas.plans import DrawOut, DrawRequest, PlanCreate, PlanOut, PlanStatus, PlanUpdate
from api.security import Principal, requires
from api.tasks import all_tasks

__all__ = ["PlanController", "check_period", "plan_out", "plan_row"]

KIND_ZH = {"field_visit": "实地检查", "file_review": "案卷评查", "callback": "回访"}
TASK_COLUMNS = [
    Column("draw_rank", "Draw order", "抽取顺序"),
    Column("unit_code", "Unit code", "单位代码"),
    Column("unit_name", "Unit", "被检查单位"),
    Column("kind", "Kind", "检查类型"),
    Column("team", "Team", "检查组"),
    Column("case_files", "Case files", "抽查案卷"),
    Column("due_from", "From", "开始日期"),
    Column("due_to", "Until", "截止日期"),
    Column("unannounced", "Unannounced", "不预先告知"),
    Column("id", "Task id", "任务编号"),
]


def plan_out(plan: Plan) -> PlanOut:
    return PlanOut(
        id=plan.id, name=plan.name, description=plan.description, period=plan.period,
        params=msgspec.to_builtins(msgspec.convert(plan.params, sampling.DrawParams)), unannounced=plan.unannounced,
        due_from=plan.due_from, due_to=plan.due_to, exclude_recent_draws=plan.exclude_recent_draws,
        seed_commitment=plan.seed_commitment, status=plan.status, created_by=plan.created_by,  # type: ignore[arg-type]
        created_at=plan.created_at, updated_at=plan.updated_at,
    )


def _check_params(params: sampling.DrawParams) -> None:
    """Parameters must read only registry fields and must staff the tasks."""
    errors = []
    unknown = sorted(params.units.fields() - set(POPULATION_FIELDS))
    if unknown:
        errors.append({"path": "$.params.units", "message": f"unknown unit fields {unknown}; use some of {list(POPULATION_FIELDS)}"})
    if params.assignment is None:
        errors.append({"path": "$.params.assignment", "message": "a plan must assign inspector teams"})
    elif params.assignment.grid_field != "grid":
        # The rule compares an inspector's home_grid with the unit's field: another field
        # (a district) holds other names, so it would never match and the rule would be off.
        errors.append({"path": "$.params.assignment.grid_field",
                       "message": "must be 'grid': the home-grid rule compares an inspector's home_grid with the unit's grid"})
    if errors:
        raise ValidationFailed(f"Invalid input: {errors[0]['path']}: {errors[0]['message']}", details=errors)


def _check_filter_values(params: sampling.DrawParams) -> None:
    """Values the draw compares with the registry must be text the sampler accepts: a control
    character is refused now, not when the plan is drawn."""
    def walk(value: Any, path: str) -> None:
        if isinstance(value, str):
            try:
                sampling.canonical_value(value)
            except sampling.SamplingError as exc:
                raise ValidationFailed(f"Invalid input: {path}: {exc}", details=[{"path": path, "message": str(exc)}]) from None
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key, path)
                walk(item, f"{path}.{key}")
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")

    walk(msgspec.to_builtins(params.units), "$.params.units")


async def check_period(db: DB, code: str | None) -> None:
    """A plan's period exists and is open: a locked period takes no new plans or draws."""
    if code is None:
        return
    try:
        await open_period(db, code)
    except NotFound:
        raise ValidationFailed("Invalid input: $.period: no such period",
                               details=[{"path": "$.period", "message": f"no period {code!r}"}]) from None


def _check_window(plan: Plan) -> None:
    if plan.due_from > plan.due_to:
        raise ValidationFailed("Invalid input: $.due_to: the due window ends before it starts",
                               details=[{"path": "$.due_to", "message": "must not be before due_from"}])


# Once a seed commitment is published the plan is what it promises: only its title and
# note may change. A chief who knows the seed could otherwise edit the parameters (filters,
# rates, sizes, teams, excluded draws) until the draw picks whom they want; the period, due
# window and unannounced flag are frozen too, being part of the plan published with it.
COMMITTED_EDITABLE = frozenset({"name", "description", "seed_commitment"})


def _check_commitment_binds(plan: Plan, values: dict[str, Any]) -> None:
    if not plan.seed_commitment:
        return
    changed = sorted(key for key, value in values.items()
                     if key not in COMMITTED_EDITABLE and _stored(key, value) != _stored(key, getattr(plan, key)))
    if changed:
        raise Conflict(f"The seed commitment is published: the plan's {', '.join(changed)} can no longer change "
                       "(only name and description can); make a new plan with a new commitment instead.",
                       code="COMMITMENT_FIXED", details={"seed_commitment": plan.seed_commitment, "fields": changed})


def _stored(key: str, value: Any) -> Any:
    """A value as the plan stores it, so that resending a field unchanged is no change."""
    if key == "params":
        return msgspec.to_builtins(msgspec.convert(value, sampling.DrawParams) if isinstance(value, dict) else value)
    return value


async def plan_row(db: DB, plan_id: uuid.UUID, *, for_update: bool = False) -> Plan:
    """The plan; ``for_update`` (before the transaction's first write) makes an edit and a draw
    of it take turns on both databases, each deciding on the plan as the other left it: else
    on SQLite an edit could land after a draw had read the plan (the plan then says what the
    draw did not use), and parallel draws would all pass the draft check."""
    if for_update:
        await sqlite_write_lock(db, Plan, Plan.id == plan_id)
    plan = await db.get(Plan, plan_id, with_for_update=for_update, populate_existing=for_update)
    if plan is None:
        raise NotFound("No such plan.", details={"plan_id": str(plan_id)})
    return plan


class PlanController(Controller):
    path = "/api/v1/plans"
    tags = ["draws"]
    # Plans reveal upcoming unannounced visits: chiefs and admins only.
    guards = [requires("admin", "chief")]

    @post("/", operation_id="createPlan", summary="Create a spot-check plan (draft)")
    async def create(self, request: Request[Principal, Any, Any], data: JSONBody[PlanCreate], db: DB) -> PlanOut:
        _check_params(data.params)
        _check_filter_values(data.params)
        await check_period(db, data.period)
        values = msgspec.structs.asdict(data)
        values["params"] = msgspec.to_builtins(data.params)
        if values["seed_commitment"]:
            values["seed_commitment"] = values["seed_commitment"].lower()
        plan = Plan(id=uuid.uuid4(), status="draft", created_by=request.user.username, **values)
        _check_window(plan)
        db.add(plan)
        # A seed commitment given here is the published promise the draw must keep.
        audit.record(db, request.user.username, "plan.created", "plan", plan.id, None,
                     {"status": "draft", **{k: v for k, v in values.items() if v is not None}})
        await db.commit()
        return plan_out(plan)

    @get("/", operation_id="listPlans", summary="List plans")
    async def list_plans(self, db: DB, status: FromQuery[PlanStatus | None] = None, period: CodeFilter = None,
                         limit: Limit = 50, offset: Offset = 0) -> Page[PlanOut]:
        filters = [c for c in (Plan.status == status if status else None, Plan.period == period if period else None) if c is not None]
        total = (await db.execute(select(func.count()).select_from(Plan).where(*filters))).scalar_one()
        rows = (await db.execute(select(Plan).where(*filters).order_by(Plan.created_at.desc(), Plan.id).limit(limit).offset(offset))).scalars()
        return Page(items=[plan_out(p) for p in rows], total=total, limit=limit, offset=offset)

    @get("/{plan_id:uuid}", operation_id="getPlan", summary="Read a plan")
    async def read(self, plan_id: FromPath[uuid.UUID], db: DB) -> PlanOut:
        return plan_out(await plan_row(db, plan_id))

    @patch("/{plan_id:uuid}", operation_id="updatePlan", summary="Edit a plan while it is a draft")
    async def update(self, request: Request[Principal, Any, Any], plan_id: FromPath[uuid.UUID], data: JSONBody[PlanUpdate],
                     db: DB) -> PlanOut:
        plan = await plan_row(db, plan_id, for_update=True)
        if plan.status != "draft":
            raise Conflict("A drawn plan cannot change.", code="PLAN_ALREADY_DRAWN", details={"plan_id": str(plan_id)})
        values = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        _check_commitment_binds(plan, values)
        if "params" in values:
            _check_params(values["params"])
            _check_filter_values(values["params"])
            values["params"] = msgspec.to_builtins(values["params"])
        if values.get("period") is not None:
            await check_period(db, values["period"])
        if "seed_commitment" in values:
            new = values["seed_commitment"].lower()
            # Once published, a commitment is the promise the draw keeps: it cannot move.
            if plan.seed_commitment and plan.seed_commitment != new:
                raise Conflict("The seed commitment is already published and cannot change.",
                               code="COMMITMENT_FIXED", details={"seed_commitment": plan.seed_commitment})
            values["seed_commitment"] = new
        old = {key: getattr(plan, key) for key in values}
        for key, value in values.items():
            setattr(plan, key, value)
        _check_window(plan)
        audit.record_changes(db, request.user.username, "plan.updated", "plan", plan.id, old, values)
        await db.commit()
        return plan_out(plan)

    @post("/{plan_id:uuid}/draw", operation_id="drawPlan", summary="Run the seeded draw and create the tasks")
    async def draw(self, request: Request[Principal, Any, Any], plan_id: FromPath[uuid.UUID], data: JSONBody[DrawRequest], db: DB) -> DrawOut:
        if (data.seed is None) == (data.seed_parts is None):
            raise ValidationFailed("Invalid input: $: give exactly one of seed and seed_parts",
                                   details=[{"path": "$", "message": "give exactly one of seed and seed_parts"}])
        seed: str | sampling.SeedRecord = data.seed if data.seed is not None else sampling.compose_seed(data.seed_parts or [])
        plan = await plan_row(db, plan_id, for_update=True)
        await check_period(db, plan.period)
        row = await execute_draw(db, plan, seed, request.user.username)
        await db.commit()
        return DrawOut(**draw_summary(row), tasks=len(row.record["assignment"]["tasks"]) if row.record.get("assignment") else 0)

    @get("/{plan_id:uuid}/tasks/export", operation_id="exportPlanTasks",
         summary="The plan's task list as CSV or XLSX, for printing")
    async def export(self, plan_id: FromPath[uuid.UUID], db: DB, format: FromQuery[ExportFormat] = "xlsx",
                     lang: FromQuery[HeaderLanguage] = "zh") -> Response[bytes]:
        plan = await plan_row(db, plan_id)
        rows = []
        for t in await all_tasks(db, plan.id):
            row = msgspec.structs.asdict(t)
            if lang == "zh":
                row["kind"] = KIND_ZH[t.kind]
            rows.append(row)
        return export_response(TASK_COLUMNS, rows, fmt=format, lang=lang, filename=f"tasks-{plan.id}", title="tasks")
