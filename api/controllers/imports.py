from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, Request, post
from litestar.params import FromPath, RawBody
from litestar.status_codes import HTTP_200_OK

from api.controllers.params import FileName
from api.deps import DB
from api.importing import commit_import, import_file
from api.registry import RESOURCES
from api.schemas.registry import ImportReport
from api.security import Principal, requires

__all__ = ["make_import_controller"]


def make_import_controller(max_bytes: int) -> type[Controller]:
    """The import endpoint, with its own body limit (a registry file is larger than JSON)."""

    class ImportController(Controller):
        path = "/api/v1/imports"
        tags = ["registry"]
        guards = [requires("admin", "chief")]

        @post(
            "/{kind:str}",
            operation_id="importRegistry",
            status_code=HTTP_200_OK,
            request_max_body_size=max_bytes,
            summary="Import units, case files or inspectors from CSV or XLSX (all or nothing)",
            description=(
                "The request body is the file itself (CSV in UTF-8 or GB18030, or XLSX); the format "
                "is recognised from its bytes. The first row names the columns (the registry's field "
                "names). Rows whose key exists are updated, the others created. If any row is bad, "
                "nothing is written and the 422 response lists every problem: row (header = 1), "
                "column and message."
            ),
        )
        async def import_registry(self, request: Request[Principal, Any, Any], kind: FromPath[Literal["units", "case-files", "inspectors"]],
                                  body: RawBody, db: DB, file_name: FileName = None) -> ImportReport:
            return await commit_import(db, import_file(db, RESOURCES[kind], body, actor=request.user.username, file_name=file_name))

    return ImportController
