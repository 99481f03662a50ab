"""Catalogs and schemes: load a version (YAML or JSON), list, read, and load the shipped ones.

Everyone authenticated reads them (a unit may know the rules it is scored by); chiefs and
admins load them. A version, once loaded, never changes.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, PathParameter, RawBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy import select

from api import documents
from api.controllers.params import CatalogCodeFilter, Limit, Offset
from api.deps import DB
from api.errors import NotFound
from api.paging import page_of
from api.schemas.common import Page
from api.schemas.scoring import DocumentDetail, DocumentVersion, ShippedDocument
from api.security import Principal, requires
from scoring import list_shipped, shipped_catalog, shipped_scheme

__all__ = ["CatalogController", "SchemeController"]

EDITORS = requires("admin", "chief")
Req = Request[Principal, Any, Any]
VersionPath = Annotated[int, PathParameter(ge=1, le=documents.MAX_VERSION)]
LOAD_DESCRIPTION = (
    "The request body is the {kind} document in YAML or JSON (Content-Type application/json or "
    "application/yaml; otherwise recognised from the first character). It is checked in full; a "
    "problem is a 422 whose details name the node, e.g. `$.items[2].indicators[0].rule.points`. "
    "A new code and version answers 201; the same document again (in any format or key order) "
    "answers 200 and changes nothing; another document under a loaded code and version is a 409."
)
SAME_AGAIN = {200: ResponseSpec(data_container=DocumentVersion, description="This document was already loaded; nothing changed")}


def _loaded(kind: documents.Kind, row: Any, created: bool) -> Response[DocumentVersion]:
    return Response(documents.version_out(kind, row), status_code=HTTP_201_CREATED if created else HTTP_200_OK)


def _document_controller(kind: documents.Kind, plural: str) -> type[Controller]:
    """The endpoints of one document kind; catalogs and schemes behave alike."""
    noun = kind.name.capitalize()
    model = kind.model

    class DocumentController(Controller):
        path = f"/api/v1/{plural}"
        tags = ["scoring"]

        @post("/", operation_id=f"load{noun}", guards=[EDITORS], status_code=HTTP_201_CREATED, responses=SAME_AGAIN,
              summary=f"Load a {kind.name} version", description=LOAD_DESCRIPTION.format(kind=kind.name))
        async def load(self, request: Req, body: RawBody, db: DB) -> Response[DocumentVersion]:
            format = documents.detect_format(body, request.headers.get("content-type"))
            row, created = await documents.store(db, kind, body, format, request.user.username)
            await db.commit()
            return _loaded(kind, row, created)

        @get("/", operation_id=f"list{noun}s", summary=f"List loaded {kind.name} versions")
        async def list_versions(self, db: DB, code: CatalogCodeFilter = None, limit: Limit = 50,
                                offset: Offset = 0) -> Page[DocumentVersion]:
            filters = [] if code is None else [model.code == code]
            return Page(**await page_of(db, model, filters, [model.code, model.version],
                                        lambda r: documents.version_out(kind, r), limit=limit, offset=offset))

        @get("/shipped", operation_id=f"listShipped{noun}s", summary=f"List the {plural} shipped with Spotcheck")
        async def shipped(self, db: DB) -> list[ShippedDocument]:
            entries = [e for e in list_shipped() if e.kind == kind.name]
            query = select(model.code, model.version).where(model.code.in_({e.code for e in entries}))
            loaded = {(c, v) for c, v in (await db.execute(query)).all()}
            return [ShippedDocument(**msgspec.structs.asdict(e), loaded=(e.code, e.version) in loaded) for e in entries]

        @post("/shipped/{code:str}", operation_id=f"loadShipped{noun}", guards=[EDITORS], status_code=HTTP_201_CREATED,
              responses=SAME_AGAIN, summary=f"Load the latest shipped version of a {kind.name}")
        async def load_shipped(self, request: Req, code: FromPath[str], db: DB) -> Response[DocumentVersion]:
            if not any(e.kind == kind.name and e.code == code for e in list_shipped()):
                raise NotFound(f"No shipped {kind.name} {code!r}.", details={"code": code})
            document = shipped_catalog(code) if kind is documents.CATALOGS else shipped_scheme(code)
            row, created = await documents.store(db, kind, msgspec.json.encode(document), "json", request.user.username)
            await db.commit()
            return _loaded(kind, row, created)

        @get("/{code:str}/{version:int}", operation_id=f"get{noun}", summary=f"Read a {kind.name} version with its document")
        async def read(self, code: FromPath[str], version: VersionPath, db: DB) -> DocumentDetail:
            return documents.detail_out(kind, await documents.get(db, kind, code, version))

    DocumentController.__name__ = DocumentController.__qualname__ = f"{noun}Controller"
    return DocumentController


CatalogController = _document_controller(documents.CATALOGS, "catalogs")
SchemeController = _document_controller(documents.SCHEMES, "schemes")
