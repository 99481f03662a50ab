"""Tasks: the lists inspectors, chiefs and units see (each only what they may)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec

from litestar import Controller, Request, Response, get
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_304_NOT_MODIFIED
from litestar.params import FromPath, FromQuery
from sqlalchemy import exists, func, select

from api.accounts import named
from api.controllers.params import CodeFilter, Limit, Offset, UsernameFilter
from api.deps import DB
from api.errors import ValidationFailed
from api.etags import etag_matches
from api.models import Unit
from api.models_draws import Task, TaskInspector
from api.schemas.common import Page, clock_instant
from api.schemas.plans import TaskKind, TaskOut, TaskStatus
from api.security import Principal, requires
from api.db import utcnow
from api.tasks import get_task, task_page, visible_tasks

__all__ = ["MyTaskController", "TaskController", "TaskFeed"]

# Re-sent before a cursor: a transaction that commits late may carry an earlier updated_at.
SINCE_OVERLAP = timedelta(seconds=5)
# Servers behind one database may disagree by a little; a cursor further ahead is not ours.
CURSOR_SKEW = timedelta(minutes=1)

Req = Request[Principal, Any, Any]


class TaskController(Controller):
    path = "/api/v1/tasks"
    tags = ["tasks"]

    @get("/", operation_id="listTasks", summary="List the tasks the caller may see")
    async def list_tasks(
        self, request: Req, db: DB,
        plan_id: FromQuery[uuid.UUID | None] = None, unit_code: CodeFilter = None,
        kind: FromQuery[TaskKind | None] = None, status: FromQuery[TaskStatus | None] = None,
        inspector: UsernameFilter = None, limit: Limit = 50, offset: Offset = 0,
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
            filters.append(exists().where(TaskInspector.task_id == Task.id, named(TaskInspector.username, inspector)))
        return Page(**await task_page(db, request.user, filters, limit=limit, offset=offset))

    @get("/{task_id:uuid}", operation_id="getTask", summary="Read a task")
    async def read(self, request: Req, task_id: FromPath[uuid.UUID], db: DB) -> TaskOut:
        return await get_task(db, request.user, task_id)


class TaskFeed(msgspec.Struct, kw_only=True):
    """A phone's task list: the changed tasks since its cursor, and the next cursor."""

    items: list[TaskOut]
    total: int
    limit: int
    offset: int
    next_since: datetime | None
    server_time: datetime


class MyTaskController(Controller):
    path = "/api/v1/me/tasks"
    tags = ["tasks"]
    guards = [requires("inspector")]

    @get(
        "/", operation_id="listMyTasks", summary="The inspector's own task list, for phones on slow links",
        description=(
            "Send the `ETag` of the last answer as `If-None-Match`: an unchanged list is a bodiless 304. "
            f"With `since` (the last `next_since`), only tasks changed since then come back; the server "
            f"re-sends the {int(SINCE_OVERLAP.total_seconds())} s before the cursor so a change committed "
            "late is never missed, and the phone de-duplicates by id and `updated_at`."
        ),
        response_headers=[ResponseHeader(name="ETag", description="Version of this list", documentation_only=True)],
        responses={304: ResponseSpec(None, description="The list is what the client's ETag (If-None-Match) names.")},
    )
    async def my_tasks(self, request: Req, db: DB, status: FromQuery[TaskStatus | None] = None,
                       since: FromQuery[datetime | None] = None, limit: Limit = 100, offset: Offset = 0) -> Response[TaskFeed]:
        filters = [Task.status == status] if status else []
        if since is not None:
            # A cursor is a `next_since` this server gave: in UTC with its offset, and not in the
            # future. A phone's local time (no offset: China time read as UTC, 8 hours ahead) or a
            # later time would skip every change until the server's clock caught up.
            cursor = clock_instant(since) if since.tzinfo else None
            if cursor is None or cursor > utcnow() + CURSOR_SKEW:
                raise ValidationFailed("Invalid input: query.since: not a cursor this server gave (send `next_since` "
                                       "as received, with its offset)",
                                       details=[{"path": "query.since", "message": "not a cursor this server gave"}])
            since = cursor
            filters.append(Task.updated_at > since - SINCE_OVERLAP)
        # The list shows each task's unit by name, so a renamed unit is a new version too.
        count, newest, renamed = (await db.execute(
            select(func.count(), func.max(Task.updated_at), func.max(Unit.updated_at)).select_from(Task)
            .join(Unit, Unit.code == Task.unit_code).where(visible_tasks(request.user), *filters)
        )).one()
        key = f"{request.user.username}|{count}|{newest}|{renamed}|{status}|{since}|{limit}|{offset}"
        tag = hashlib.sha256(key.encode()).hexdigest()[:32]
        etag = f'W/"{tag}"'
        if etag_matches(request.headers.get("if-none-match"), tag):
            return Response(content=b"", status_code=HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        page = await task_page(db, request.user, filters, limit=limit, offset=offset, order="updated")
        items = page["items"]
        feed = TaskFeed(**page, next_since=max((t.updated_at for t in items), default=since), server_time=utcnow())
        return Response(content=feed, headers={"ETag": etag})
