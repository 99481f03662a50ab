"""Field work from phones: check-ins, findings, submission and batch sync.

Writes go through the worker's group-commit writer (api/group_commit.py), which answers
only after the commit. Ids come from the phone, so every write is safe to repeat.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, Sequence

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy import exists, func, select

from api.accounts import named
from api.controllers.params import Limit, Offset, UsernameFilter
from api.db import database_unavailable, utcnow
from api.deps import DB
from api.errors import ApiError, ErrorBody, NotFound, validation_details
from api.field_ops import EditOp, FindingOp, finding_out
from api.field_visits import CheckInOp, SubmitOp, check_in_out
from api.models_draws import TaskInspector
from api.evidence_records import recompute_flags
from api.models_evidence import Evidence
from api.models_field import CheckIn, Finding
from api.models_scoring import Deduction
from api.schemas.common import Page
from api.schemas.field import (
    CheckInCreate, CheckInOperation, CheckInOut, FindingCreate, FindingOperation, FindingOut, FindingUpdate,
    SubmitOperation, SyncOperation, SyncRequest, SyncResponse, SyncResult,
)
from api.schemas.plans import TaskOut
from api.security import Principal, requires
from api.tasks import get_task

__all__ = ["CheckInController", "FindingController", "make_sync_controller"]

Req = Request[Principal, Any, Any]
log = logging.getLogger("spotcheck.field")
INSPECTORS = requires("inspector")


def _created(result: tuple[Any, bool]) -> Response[Any]:
    body, new = result
    return Response(content=body, status_code=HTTP_201_CREATED if new else HTTP_200_OK)


def _finding_scope(p: Principal) -> Any:
    """Chiefs see every finding; an inspector those of their team's tasks; units none
    (they see confirmed deductions once reviewed, not the field notes)."""
    if p.role in ("admin", "chief"):
        return None
    return exists().where(TaskInspector.task_id == Finding.task_id, TaskInspector.username == p.username)


async def _finding(db: DB, p: Principal, finding_id: uuid.UUID) -> Finding:
    query = select(Finding).where(Finding.id == finding_id)
    if (scope := _finding_scope(p)) is not None:
        query = query.where(scope)
    row = (await db.execute(query)).scalar_one_or_none()
    if row is None:
        raise NotFound("No such finding.", details={"id": str(finding_id)})
    return row


async def _with_points(db: DB, rows: Sequence[Finding]) -> list[FindingOut]:
    ids = {r.deduction_id for r in rows if r.deduction_id}
    points = dict((await db.execute(select(Deduction.id, Deduction.points).where(Deduction.id.in_(ids)))).all()) if ids else {}
    return [finding_out(r, points.get(r.deduction_id)) for r in rows]


READERS = requires("admin", "chief", "inspector")


class FindingController(Controller):
    path = "/api/v1/findings"
    tags = ["field"]

    @post("/", operation_id="createFinding", guards=[INSPECTORS], status_code=HTTP_201_CREATED,
          responses={200: ResponseSpec(FindingOut, description="The same id and body were stored before: the stored finding.")},
          summary="Log a finding (idempotent: the phone chooses the id)",
          description="201 when stored, 200 when the same id and body were stored before, 409 when the id is used by another finding.")
    async def create(self, request: Req, data: JSONBody[FindingCreate]) -> Response[FindingOut]:
        outcome = await request.app.state.writer.submit("finding", FindingOp(request.user, data))
        await review_photos(request.app.state, request.user, [outcome[0]] if outcome[1] else [])
        return _created(outcome)

    @get("/", operation_id="listFindings", guards=[READERS], summary="Findings the caller may see")
    async def list_findings(self, request: Req, db: DB, task_id: FromQuery[uuid.UUID | None] = None,
                            inspector: UsernameFilter = None, limit: Limit = 100, offset: Offset = 0) -> Page[FindingOut]:
        where = [c for c in (_finding_scope(request.user),
                             Finding.task_id == task_id if task_id else None,
                             named(Finding.inspector, inspector) if inspector else None) if c is not None]
        total = (await db.execute(select(func.count()).select_from(Finding).where(*where))).scalar_one()
        rows = (await db.execute(select(Finding).where(*where).order_by(Finding.created_at, Finding.id).limit(limit).offset(offset))).scalars().all()
        return Page(items=await _with_points(db, rows), total=total, limit=limit, offset=offset)

    @get("/{finding_id:uuid}", operation_id="getFinding", guards=[READERS], summary="Read a finding")
    async def read(self, request: Req, finding_id: FromPath[uuid.UUID], db: DB) -> FindingOut:
        return (await _with_points(db, [await _finding(db, request.user, finding_id)]))[0]

    @patch("/{finding_id:uuid}", operation_id="updateFinding", guards=[INSPECTORS],
           summary="Edit a finding while its task is not submitted")
    async def update(self, request: Req, finding_id: FromPath[uuid.UUID], data: JSONBody[FindingUpdate]) -> FindingOut:
        changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        finding = await request.app.state.writer.submit("edit", EditOp(request.user, finding_id, changes))
        await review_photos(request.app.state, request.user, [finding])
        return finding


class CheckInController(Controller):
    path = "/api/v1/tasks/{task_id:uuid}"
    tags = ["field"]

    @post("/check-ins", operation_id="checkIn", guards=[INSPECTORS], status_code=HTTP_201_CREATED,
          responses={200: ResponseSpec(CheckInOut, description="The same id and body were stored before: the stored check-in.")},
          summary="Check in (or out) on site; distance and clock are checked and flagged")
    async def check_in(self, request: Req, task_id: FromPath[uuid.UUID], data: JSONBody[CheckInCreate]) -> Response[CheckInOut]:
        return _created(await request.app.state.writer.submit("check_in", CheckInOp(request.user, task_id, data)))

    @get("/check-ins", operation_id="listCheckIns", guards=[READERS],
         summary="The task's check-ins")
    async def list_check_ins(self, request: Req, task_id: FromPath[uuid.UUID], db: DB) -> list[CheckInOut]:
        await get_task(db, request.user, task_id)
        rows = (await db.execute(select(CheckIn).where(CheckIn.task_id == task_id).order_by(CheckIn.server_time, CheckIn.id))).scalars()
        return [check_in_out(r) for r in rows]

    @post("/submit", operation_id="submitTask", guards=[INSPECTORS], status_code=HTTP_200_OK,
          summary="Submit the task: its findings freeze (idempotent)")
    async def submit(self, request: Req, task_id: FromPath[uuid.UUID], db: DB) -> TaskOut:
        await request.app.state.writer.submit("submit", SubmitOp(request.user, task_id))
        return await get_task(db, request.user, task_id)


async def review_photos(state: Any, p: Principal, findings: Sequence[FindingOut]) -> None:
    """Re-check the photos a finding cites against the visit as checked in (reuse, capture
    time inside the visit, distance): the flags the chief sees. Flags inform, never block,
    so a failure here is logged and the stored finding stands."""
    ids = {e for f in findings for e in f.evidence_ids}
    if not ids:
        return
    try:
        async with state.sessionmaker() as session:
            for row in (await session.execute(select(Evidence).where(Evidence.id.in_(ids)))).scalars():
                await recompute_flags(session, state.evidence_runtime, row, p.username)
            await session.commit()
    except Exception:  # advisory work after the commit: the answer must not fail for it
        log.exception("could not re-check the photos of %d finding(s)", len(findings))


def _error(exc: Exception) -> tuple[int, ErrorBody]:
    if isinstance(exc, ApiError):
        return exc.status_code, ErrorBody(exc.code, exc.message, exc.details)
    if database_unavailable(exc):
        return 503, ErrorBody("SERVICE_UNAVAILABLE", "The database is unavailable; retry this operation shortly.")
    return 500, ErrorBody("INTERNAL_ERROR", "This operation could not be applied; retry it.")


def make_sync_controller(max_bytes: int) -> type[Controller]:
    """``POST /sync``, taking bodies up to ``max_bytes`` (``SPOTCHECK_SYNC_MAX_BODY_BYTES``):
    a full batch of 500 findings with long notes is larger than a single call."""

    class SyncController(Controller):
        path = "/api/v1/sync"
        tags = ["field"]
        guards = [INSPECTORS]

        @post("/", operation_id="sync", status_code=HTTP_200_OK, request_max_body_size=max_bytes,
              summary="Apply up to 500 queued operations, each answered alone")
        async def sync(self, request: Req, data: JSONBody[SyncRequest]) -> SyncResponse:
            return await apply_sync(request, data)

    return SyncController


async def apply_sync(request: Req, data: SyncRequest) -> SyncResponse:
    """Answer each operation of the batch alone, in the phone's order."""
    writer = request.app.state.writer
    results: list[SyncResult | None] = [None] * len(data.operations)
    runs: list[tuple[str, list[tuple[int, Any]]]] = []
    for index, raw in enumerate(data.operations):
        try:
            # Not strict, as Litestar reads the body of a single call: an item means here
            # what it means sent alone.
            operation = msgspec.convert(raw, SyncOperation, strict=False)
        except msgspec.ValidationError as exc:
            op = raw.get("op") if isinstance(raw, dict) else None
            results[index] = SyncResult(index=index, op=op if isinstance(op, str) else None, status=422,
                                        error=ErrorBody("VALIDATION_ERROR", f"Invalid operation: {exc}", validation_details(exc)))
            continue
        kind, op = _operation(request.user, operation)
        if runs and runs[-1][0] == kind:
            runs[-1][1].append((index, op))
        else:
            runs.append((kind, [(index, op)]))
    # Consecutive operations of one kind go together; kinds stay in the phone's order,
    # so a finding queued before a submission is stored before the task freezes.
    for kind, items in runs:
        outcomes = await asyncio.gather(*(writer.submit(kind, op) for _, op in items), return_exceptions=True)
        for (index, _), outcome in zip(items, outcomes):
            results[index] = _result(index, kind, outcome)
        if kind == "finding":
            await review_photos(request.app.state, request.user, [o[0] for o in outcomes if isinstance(o, tuple) and o[1]])
    return SyncResponse(server_time=utcnow(), results=[r for r in results if r is not None])


def _operation(principal: Principal, operation: SyncOperation) -> tuple[str, Any]:
    if isinstance(operation, FindingOperation):
        return "finding", FindingOp(principal, operation.finding)
    if isinstance(operation, CheckInOperation):
        return "check_in", CheckInOp(principal, operation.task_id, operation.check_in)
    assert isinstance(operation, SubmitOperation)
    return "submit", SubmitOp(principal, operation.task_id)


# Where each kind's body sits in its operation: the paths of its errors start there.
BODY_PATHS = {"finding": "$.finding", "check_in": "$.check_in"}


def _result(index: int, kind: str, outcome: Any) -> SyncResult:
    if isinstance(outcome, BaseException):
        status, error = _error(outcome) if isinstance(outcome, Exception) else (500, None)
        if error is not None and isinstance(error.details, list) and kind in BODY_PATHS:
            moved = {d["path"]: BODY_PATHS[kind] + d["path"][1:] for d in error.details
                     if str(d.get("path", "")).startswith("$")}
            message = error.message
            for old, new in moved.items():  # the message names the path too: the same one
                message = message.replace(f": {old}:", f": {new}:")
            error = msgspec.structs.replace(error, message=message, details=[
                {**d, "path": moved[d["path"]]} if d.get("path") in moved else d for d in error.details])
        return SyncResult(index=index, op=kind, status=status, error=error)
    if kind == "submit":
        return SyncResult(index=index, op=kind, status=200, result={"task_id": str(outcome), "status": "submitted"})
    body, new = outcome
    return SyncResult(index=index, op=kind, status=201 if new else 200, result=msgspec.to_builtins(body))
