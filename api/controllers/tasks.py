"""Tasks: the lists inspectors, chiefs and units see (each only what they may)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get
from litestar.params import FromPath, FromQuery
from sqlalchemy import exists

from api.controllers.params import Limit, Offset
from api.deps import DB
from api.models_draws import Task, TaskInspector
from api.schemas.common import Page
from api.schemas.plans import TaskKind, TaskOut, TaskStatus
from api.security import Principal, requires
from api.tasks import get_task, task_page

__all__ = ["TaskController", "MyTaskController"]

Req = Request[Principal, Any, Any]


class TaskController(Controller):
    path = "/api/v1/tasks"
    tags = ["tasks"]

    @get("/", operation_id="listTasks", summary="List the tasks the caller may see")
    async def list_tasks(
        self, request: Req, db: DB,
        plan_id: FromQuery[uuid.UUID | None] = None, unit_code: FromQuery[str | None] = None,
        kind: FromQuery[TaskKind | None] = None, status: FromQuery[TaskStatus | None] = None,
        inspector: FromQuery[str | None] = None, limit: Limit = 50, offset: Offset = 0,
    ) -> Page[TaskOut]:
        filters = []
        if plan_id is not None:
            filters.append(Task.plan_id == plan_id)
        if unit_code is not None:
            filters.append(Task.unit_code == unit_code)
        if kind is not None:
            filters.append(Task.kind == kind)
        if status is not None:
            filters.append(Task.status == status)
        if inspector is not None:
            filters.append(exists().where(TaskInspector.task_id == Task.id, TaskInspector.username == inspector))
        return Page(**await task_page(db, request.user, filters, limit=limit, offset=offset))

    @get("/{task_id:uuid}", operation_id="getTask", summary="Read a task")
    async def read(self, request: Req, task_id: FromPath[uuid.UUID], db: DB) -> TaskOut:
        return await get_task(db, request.user, task_id)


class MyTaskController(Controller):
    path = "/api/v1/me/tasks"
    tags = ["tasks"]
    guards = [requires("inspector")]

    @get("/", operation_id="listMyTasks", summary="The inspector's own task list")
    async def my_tasks(self, request: Req, db: DB, status: FromQuery[TaskStatus | None] = None,
                       limit: Limit = 100, offset: Offset = 0) -> Page[TaskOut]:
        filters = [Task.status == status] if status else []
        return Page(**await task_page(db, request.user, filters, limit=limit, offset=offset))
