"""Declared conflicts of interest (回避): the draw never sends an inspector to these units."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.params import JSONBody
from sqlalchemy import func, select

from api import audit
from api.accounts import named
from api.controllers.params import CodeFilter, IntId, Limit, Offset, UsernameFilter
from api.deps import DB
from api.errors import Conflict, Forbidden, NotFound, ValidationFailed
from api.models import Inspector, Unit, username_key
from api.models_draws import DeclaredConflict
from api.schemas.common import Page
from api.schemas.plans import ConflictCreate, ConflictOut
from api.security import Principal, requires

__all__ = ["ConflictController"]

Req = Request[Principal, Any, Any]


def _out(c: DeclaredConflict) -> ConflictOut:
    return ConflictOut(id=c.id, inspector=c.inspector, unit_code=c.unit_code, reason=c.reason,
                       declared_by=c.declared_by, created_at=c.created_at)


class ConflictController(Controller):
    path = "/api/v1/conflicts"
    tags = ["draws"]
    guards = [requires("admin", "chief", "inspector")]

    @get("/", operation_id="listConflicts", summary="Declared conflicts (an inspector sees their own)")
    async def list_conflicts(self, request: Req, db: DB, inspector: UsernameFilter = None,
                             unit_code: CodeFilter = None, limit: Limit = 50, offset: Offset = 0) -> Page[ConflictOut]:
        where = []
        if request.user.role == "inspector":
            where.append(DeclaredConflict.inspector == request.user.username)
        if inspector:
            where.append(named(DeclaredConflict.inspector, inspector))
        if unit_code:
            where.append(DeclaredConflict.unit_code == unit_code)
        total = (await db.execute(select(func.count()).select_from(DeclaredConflict).where(*where))).scalar_one()
        rows = (await db.execute(select(DeclaredConflict).where(*where).order_by(DeclaredConflict.id).limit(limit).offset(offset))).scalars()
        return Page(items=[_out(c) for c in rows], total=total, limit=limit, offset=offset)

    @post("/", operation_id="declareConflict", summary="Declare a conflict (inspectors: only their own)")
    async def declare(self, request: Req, data: JSONBody[ConflictCreate], db: DB) -> ConflictOut:
        errors = []
        # The record's spelling, whatever the case typed: draws compare names as stored.
        spelled = (await db.execute(select(Inspector.username).where(
            Inspector.username_key == username_key(data.inspector)))).scalar_one_or_none()
        if spelled is None:
            errors.append({"path": "$.inspector", "message": f"no inspector {data.inspector!r}"})
        else:
            data.inspector = spelled
        if request.user.role == "inspector" and data.inspector != request.user.username:
            raise Forbidden("Inspectors declare only their own conflicts.")
        if (await db.execute(select(Unit.id).where(Unit.code == data.unit_code))).first() is None:
            errors.append({"path": "$.unit_code", "message": f"no unit with code {data.unit_code!r}"})
        if errors:
            raise ValidationFailed(f"Invalid input: {errors[0]['path']}: {errors[0]['message']}", details=errors)
        exists = (await db.execute(select(DeclaredConflict.id).where(
            DeclaredConflict.inspector == data.inspector, DeclaredConflict.unit_code == data.unit_code))).first()
        if exists:
            raise Conflict("This conflict is already declared.", code="ALREADY_EXISTS")
        row = DeclaredConflict(inspector=data.inspector, unit_code=data.unit_code, reason=data.reason,
                               declared_by=request.user.username)
        db.add(row)
        await db.flush()
        audit.record(db, request.user.username, "conflict.declared", "conflict", row.id, None,
                     {"inspector": data.inspector, "unit_code": data.unit_code, "reason": data.reason})
        await db.commit()
        return _out(row)

    @delete("/{conflict_id:int}", operation_id="withdrawConflict", guards=[requires("admin", "chief")],
            summary="Withdraw a declared conflict")
    async def withdraw(self, request: Req, conflict_id: IntId, db: DB) -> None:
        row = await db.get(DeclaredConflict, conflict_id)
        if row is None:
            raise NotFound("No such conflict.", details={"conflict_id": conflict_id})
        audit.record(db, request.user.username, "conflict.withdrawn", "conflict", row.id,
                     {"inspector": row.inspector, "unit_code": row.unit_code, "reason": row.reason}, None)
        await db.delete(row)
        await db.commit()
