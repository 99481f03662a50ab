"""Photos for the console's pages: the evidence endpoints' answers behind the session cookie
(an <img> cannot send a bearer token), with the same visibility check (api.evidence_records)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get
from litestar.params import FromPath, FromQuery, HeaderParameter

from api.console.session import allow
from api.controllers.evidence import original_response, thumbnail_response
from api.deps import DB, Runtime
from api.evidence_records import get_evidence
from api.security import Principal

__all__ = ["EvidencePages"]

Req = Request[Principal, Any, Any]
IfNoneMatch = Annotated[str | None, HeaderParameter(name="If-None-Match", required=False, max_length=1000)]


class EvidencePages(Controller):
    path = "/console/evidence"
    guards = [allow()]

    @get("/{evidence_id:uuid}/thumbnail", name="console-thumbnail")
    async def thumbnail(self, request: Req, evidence_id: FromPath[uuid.UUID], db: DB, evidence_runtime: Runtime,
                        size: FromQuery[Literal[256, 1024]] = 256, if_none_match: IfNoneMatch = None) -> Response[bytes]:
        row = await get_evidence(db, request.user, evidence_id)
        return await thumbnail_response(evidence_runtime, row, size, if_none_match)

    @get("/{evidence_id:uuid}/original", name="console-original")
    async def original(self, request: Req, evidence_id: FromPath[uuid.UUID], db: DB, evidence_runtime: Runtime,
                       if_none_match: IfNoneMatch = None) -> Response[bytes]:
        return await original_response(evidence_runtime, await get_evidence(db, request.user, evidence_id), if_none_match)
