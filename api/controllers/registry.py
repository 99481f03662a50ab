"""Units, case files and inspectors: list (paginated, filterable), read, create, update.

Visibility: a unit account sees only its own unit and its case files; an inspector sees
only their own inspector record; a record outside the caller's view is a 404, not a 403.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlalchemy import ColumnElement, String, cast, false, or_

from api import registry
from api.controllers.params import CodeFilter, LabelFilter, Limit, Offset, Search
from api.deps import DB
from api.models import CaseFile, Inspector, Unit
from api.schemas.common import Page
from api.schemas import registry as s
from api.security import Principal, requires

__all__ = ["UnitController", "CaseFileController", "InspectorController"]

EDITORS = requires("admin", "chief")
Req = Request[Principal, Any, Any]


def _eq(column: Any, value: Any) -> list[ColumnElement[bool]]:
    return [] if value is None else [column == value]


def unit_scope(p: Principal) -> ColumnElement[bool] | None:
    return Unit.code == p.unit_code if p.role == "unit" else None


def case_file_scope(p: Principal) -> ColumnElement[bool] | None:
    return CaseFile.unit_code == p.unit_code if p.role == "unit" else None


def inspector_scope(p: Principal) -> ColumnElement[bool] | None:
    if p.role == "inspector":
        return Inspector.username == p.username
    return false() if p.role == "unit" else None


def _scoped(scope: ColumnElement[bool] | None, filters: list[ColumnElement[bool]]) -> list[ColumnElement[bool]]:
    return filters if scope is None else [scope, *filters]


class UnitController(Controller):
    path = "/api/v1/units"
    tags = ["registry"]

    @get("/", operation_id="listUnits", summary="List units")
    async def list_units(
        self, request: Req, db: DB,
        kind: FromQuery[s.UnitKind | None] = None, district: LabelFilter = None, grid: LabelFilter = None,
        risk_class: FromQuery[s.RiskClass | None] = None, credit: FromQuery[s.Credit | None] = None,
        tier: Annotated[int | None, QueryParameter(ge=1, le=5)] = None, parent_code: CodeFilter = None,
        q: Search = None, limit: Limit = 50, offset: Offset = 0,
    ) -> Page[s.Unit]:
        filters = [*_eq(Unit.kind, kind), *_eq(Unit.district, district), *_eq(Unit.grid, grid),
                   *_eq(Unit.risk_class, risk_class), *_eq(Unit.credit, credit), *_eq(Unit.tier, tier),
                   *_eq(Unit.parent_code, parent_code)]
        if q:
            filters.append(or_(Unit.code.contains(q, autoescape=True), Unit.name.contains(q, autoescape=True)))
        return Page(**await registry.page(db, registry.UNITS, _scoped(unit_scope(request.user), filters), limit=limit, offset=offset))

    @get("/{code:str}", operation_id="getUnit", summary="Read a unit")
    async def read(self, request: Req, code: FromPath[str], db: DB) -> s.Unit:
        return registry.to_out(registry.UNITS, await registry.get(db, registry.UNITS, code, scope=unit_scope(request.user)))

    @post("/", operation_id="createUnit", guards=[EDITORS], summary="Create a unit")
    async def create(self, request: Req, data: JSONBody[s.UnitCreate], db: DB) -> s.Unit:
        row = await registry.create(db, registry.UNITS, data, request.user.username)
        await db.commit()
        return registry.to_out(registry.UNITS, row)

    @patch("/{code:str}", operation_id="updateUnit", guards=[EDITORS], summary="Update a unit")
    async def update(self, request: Req, code: FromPath[str], data: JSONBody[s.UnitUpdate], db: DB) -> s.Unit:
        row = await registry.update(db, registry.UNITS, await registry.get(db, registry.UNITS, code), data, request.user.username)
        await db.commit()
        return registry.to_out(registry.UNITS, row)


class CaseFileController(Controller):
    path = "/api/v1/case-files"
    tags = ["registry"]

    @get("/", operation_id="listCaseFiles", summary="List case files")
    async def list_case_files(
        self, request: Req, db: DB,
        unit_code: CodeFilter = None, type: FromQuery[s.CaseFileType | None] = None,
        closed_from: Annotated[date | None, QueryParameter(description="Closed on or after (ISO date)")] = None,
        closed_to: Annotated[date | None, QueryParameter(description="Closed on or before (ISO date)")] = None,
        q: Search = None, limit: Limit = 50, offset: Offset = 0,
    ) -> Page[s.CaseFile]:
        filters = [*_eq(CaseFile.unit_code, unit_code), *_eq(CaseFile.type, type)]
        if closed_from is not None:
            filters.append(CaseFile.closed_on >= closed_from)
        if closed_to is not None:
            filters.append(CaseFile.closed_on <= closed_to)
        if q:
            filters.append(CaseFile.code.contains(q, autoescape=True))
        return Page(**await registry.page(db, registry.CASE_FILES, _scoped(case_file_scope(request.user), filters), limit=limit, offset=offset))

    @get("/{code:str}", operation_id="getCaseFile", summary="Read a case file")
    async def read(self, request: Req, code: FromPath[str], db: DB) -> s.CaseFile:
        row = await registry.get(db, registry.CASE_FILES, code, scope=case_file_scope(request.user))
        return registry.to_out(registry.CASE_FILES, row)

    @post("/", operation_id="createCaseFile", guards=[EDITORS], summary="Create a case file")
    async def create(self, request: Req, data: JSONBody[s.CaseFileCreate], db: DB) -> s.CaseFile:
        row = await registry.create(db, registry.CASE_FILES, data, request.user.username)
        await db.commit()
        return registry.to_out(registry.CASE_FILES, row)

    @patch("/{code:str}", operation_id="updateCaseFile", guards=[EDITORS], summary="Update a case file")
    async def update(self, request: Req, code: FromPath[str], data: JSONBody[s.CaseFileUpdate], db: DB) -> s.CaseFile:
        row = await registry.update(db, registry.CASE_FILES, await registry.get(db, registry.CASE_FILES, code), data, request.user.username)
        await db.commit()
        return registry.to_out(registry.CASE_FILES, row)


class InspectorController(Controller):
    path = "/api/v1/inspectors"
    tags = ["registry"]
    guards = [requires("admin", "chief", "inspector")]

    @get("/", operation_id="listInspectors", summary="List inspectors")
    async def list_inspectors(
        self, request: Req, db: DB,
        home_unit: CodeFilter = None, home_grid: LabelFilter = None,
        qualification: FromQuery[s.Qualification | None] = None, active: FromQuery[bool | None] = None,
        q: Search = None, limit: Limit = 50, offset: Offset = 0,
    ) -> Page[s.Inspector]:
        filters = [*_eq(Inspector.home_unit, home_unit), *_eq(Inspector.home_grid, home_grid), *_eq(Inspector.active, active)]
        if qualification:
            # JSON containment operators differ by backend; the array holds at most two words.
            filters.append(cast(Inspector.qualifications, String).contains(f'"{qualification}"'))
        if q:
            filters.append(or_(Inspector.username.contains(q, autoescape=True), Inspector.name.contains(q, autoescape=True)))
        return Page(**await registry.page(db, registry.INSPECTORS, _scoped(inspector_scope(request.user), filters), limit=limit, offset=offset))

    @get("/{username:str}", operation_id="getInspector", summary="Read an inspector")
    async def read(self, request: Req, username: FromPath[str], db: DB) -> s.Inspector:
        row = await registry.get(db, registry.INSPECTORS, username, scope=inspector_scope(request.user))
        return registry.to_out(registry.INSPECTORS, row)

    @post("/", operation_id="createInspector", guards=[EDITORS], summary="Create an inspector")
    async def create(self, request: Req, data: JSONBody[s.InspectorCreate], db: DB) -> s.Inspector:
        row = await registry.create(db, registry.INSPECTORS, data, request.user.username)
        await db.commit()
        return registry.to_out(registry.INSPECTORS, row)

    @patch("/{username:str}", operation_id="updateInspector", guards=[EDITORS], summary="Update an inspector")
    async def update(self, request: Req, username: FromPath[str], data: JSONBody[s.InspectorUpdate], db: DB) -> s.Inspector:
        row = await registry.update(db, registry.INSPECTORS, await registry.get(db, registry.INSPECTORS, username), data, request.user.username)
        await db.commit()
        return registry.to_out(registry.INSPECTORS, row)
