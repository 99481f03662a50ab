"""Photo evidence: upload (raw body, streamed), metadata, thumbnail and original."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, BinaryIO, Literal

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import InternalServerException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, HeaderParameter, QueryParameter
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK

from evidence.errors import BlobNotFound
from evidence.formats import ImageFormat
from evidence.storage import BlobStore
from api.etags import etag_matches
from api.controllers.params import Limit, Offset
from api.deps import DB, Runtime
from api.errors import ErrorBody, EvidenceBytesMissing, NotFound, ValidationFailed, interrupted_body
from api.evidence_intake import Filed, file_evidence, upload_scope
from api.evidence_runtime import EvidenceRuntime
from api.evidence_records import evidence_out, evidence_page, get_evidence, recompute_flags
from api.models_evidence import Evidence
from api.schemas.common import Page
from api.schemas.evidence import EvidenceOut
from api.security import Principal, requires

__all__ = ["BINARY_OPERATIONS", "RAW_BODIES", "UPLOAD_ERRORS", "blob_response", "filed_response", "make_evidence_controller",
           "original_response", "request_chunks", "thumbnail_response"]

Req = Request[Principal, Any, Any]
HEX64 = r"^[0-9a-fA-F]{64}$"
DeclaredQuery = Annotated[str | None, QueryParameter(pattern=HEX64, description="SHA-256 (hex) the client computed")]
DeclaredHeader = Annotated[str | None, HeaderParameter(name="X-Content-SHA256", pattern=HEX64, required=False,
                                                 description="SHA-256 (hex) the client computed")]
IfNoneMatch = Annotated[str | None, HeaderParameter(name="If-None-Match", required=False, max_length=1000,
                                              description="ETag(s) the client holds: 304 if one matches")]
IMAGE_TYPES = [f.media_type for f in ImageFormat]
# Operations whose 200 is bytes, not JSON (api.openapi documents them so): id -> media types.
BINARY_OPERATIONS = {"getEvidenceOriginal": IMAGE_TYPES, "getEvidenceThumbnail": ["image/jpeg"]}
# Operations whose request body is raw bytes: id -> media types documented.
RAW_BODIES = {"uploadEvidence": ["application/octet-stream", *IMAGE_TYPES]}
BYTES_MISSING = ResponseSpec(ErrorBody, description=(
    "EVIDENCE_BYTES_MISSING: the record exists but its stored file is gone from the evidence store "
    "(details: sha256, evidence_id, file); an administrator restores it from backup."))
UPLOAD_ERRORS = {
    413: ResponseSpec(ErrorBody, description="Larger than SPOTCHECK_EVIDENCE_MAX_BYTES: code PAYLOAD_TOO_LARGE."),
    415: ResponseSpec(ErrorBody, description="Not a JPEG, PNG, WebP or HEIC/HEIF image (sniffed from the bytes): "
                                             "code UNSUPPORTED_FORMAT."),
    422: ResponseSpec(ErrorBody, description="CHECKSUM_MISMATCH (bytes differ from the declared SHA-256), CORRUPT_IMAGE "
                                             "(does not decode completely), IMAGE_TOO_LARGE (pixel limit), or invalid "
                                             "parameters (VALIDATION_ERROR)."),
    507: ResponseSpec(ErrorBody, description="The evidence store is full: code STORAGE_FULL; nothing was kept."),
}
CHUNK = 256 * 1024
_EXTENSIONS = {ImageFormat.JPEG: "jpg"}


def declared_sha256(query: str | None, header: str | None) -> str | None:
    if query and header and query.lower() != header.lower():
        raise ValidationFailed("The sha256 query parameter and the X-Content-SHA256 header differ.",
                               details=[{"path": "query.sha256", "message": "differs from header X-Content-SHA256"}])
    value = query or header
    return value.lower() if value else None


async def request_chunks(request: Req, *, keep_partial: bool = False) -> AsyncIterator[bytes]:
    """The raw request body as it arrives. If the client goes away or stalls mid-body the
    stream ends early (``keep_partial``: a resumable upload keeps what arrived) or fails
    with a 400 (dropped) or 408 (stalled)."""
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except InternalServerException:  # Litestar's signal of an http.disconnect mid-body (or a stall: api.bodies)
        if not keep_partial:
            raise interrupted_body(request) from None


def filed_response(filed: Filed) -> Response[EvidenceOut]:
    evidence = filed.evidence
    return Response(evidence, status_code=201 if filed.created else 200,
                    headers={"Location": f"/api/v1/evidence/{evidence.id}", "Server-Timing": filed.server_timing()})


async def _read(source: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while chunk := await anyio.to_thread.run_sync(source.read, CHUNK):
            yield chunk
    finally:
        source.close()


def _open_length(source: BinaryIO) -> int | None:
    """Length of an opened local file (its inode: a deletion after the open does not matter)."""
    try:
        return os.fstat(source.fileno()).st_size
    except (AttributeError, OSError, ValueError):  # an S3 body has no file descriptor
        return None


async def blob_response(store: BlobStore, sha256: str, media_type: str, size: int | None, if_none_match: str | None,
                        filename: str, *, evidence_id: uuid.UUID, file: str) -> Response[Any]:
    # Content-addressed: the ETag is the SHA-256. "no-cache" makes clients revalidate, so
    # every use passes the permission check again (and costs a 304 at most).
    headers = {"ETag": f'"{sha256}"', "Cache-Control": "private, no-cache",
               "Content-Disposition": f'inline; filename="{filename}"', "X-Content-Type-Options": "nosniff"}
    if etag_matches(if_none_match, sha256):
        return Response(content=b"", status_code=304, headers=headers, media_type=media_type)
    # Opened before the answer starts: a missing or unreadable file is a clean error
    # (410 / 503), never a 200 that breaks off after its headers.
    try:
        source = await anyio.to_thread.run_sync(store.open, sha256)
    except BlobNotFound:
        raise EvidenceBytesMissing(sha256, evidence_id=str(evidence_id), file=file) from None
    stored = _open_length(source)
    if size is not None and stored is not None and stored != size:
        # A partial restore or a disk fault: the 200 would break off (or run on) mid-body.
        source.close()
        raise EvidenceBytesMissing(sha256, evidence_id=str(evidence_id), file=file, damaged=f"{stored} of {size} bytes")
    size = size if size is not None else stored
    if size is not None:
        headers["Content-Length"] = str(size)
    return Stream(_read(source), media_type=media_type, headers=headers)


async def original_response(runtime: EvidenceRuntime, row: Evidence, if_none_match: str | None) -> Response[Any]:
    """The photo as received; the caller has checked that the user may see ``row``."""
    fmt = ImageFormat(row.format)
    filename = f"{row.sha256}.{_EXTENSIONS.get(fmt, fmt.value)}"
    return await blob_response(runtime.store, row.sha256, fmt.media_type, row.size, if_none_match, filename,
                               evidence_id=row.id, file="original")


async def thumbnail_response(runtime: EvidenceRuntime, row: Evidence, size: int, if_none_match: str | None) -> Response[Any]:
    """A thumbnail (``size``: its box, 256 or 1024); the caller has checked that the user may see ``row``."""
    thumb = next((t for t in row.thumbnails if t["box"] == size), None)
    if thumb is None:
        raise NotFound(f"No {size} px thumbnail.", details={"size": size})
    return await blob_response(runtime.store, thumb["sha256"], "image/jpeg", None, if_none_match, f"{row.sha256}-{size}.jpg",
                               evidence_id=row.id, file=f"thumbnail_{size}")


def make_evidence_controller(max_bytes: int) -> type[Controller]:
    """The evidence endpoints; the upload takes bodies up to ``max_bytes`` (other routes keep the JSON limit)."""

    class EvidenceController(Controller):
        path = "/api/v1/evidence"
        tags = ["evidence"]

        @post(
            "/",
            operation_id="uploadEvidence",
            guards=[requires("inspector")],
            request_max_body_size=max_bytes,
            status_code=201,
            summary="Upload a photo (the raw body), streamed to storage and hashed",
            description=(
                "The request body is the photo itself (JPEG, PNG, WebP, HEIC/HEIF), sent as is: its "
                "type is sniffed from the bytes, never taken from the file name or Content-Type. Give "
                "the SHA-256 your client computed in `X-Content-SHA256` (or `?sha256=`) and a body "
                "damaged in transit is refused (422 CHECKSUM_MISMATCH) with nothing kept. `task_id` "
                "files it for a task of your team. The answer carries the integrity flags and the "
                "ledger receipt; the same bytes sent again for the same task return the existing "
                "evidence (200). For large files on flaky links use the resumable upload "
                "(`/api/v1/uploads`, tus 1.0)."
            ),
            responses={200: ResponseSpec(EvidenceOut, description="The same bytes were already filed for this task."),
                       **UPLOAD_ERRORS},
        )
        async def upload(
            self, request: Req, db: DB, evidence_runtime: Runtime, task_id: FromQuery[uuid.UUID | None] = None,
            sha256: DeclaredQuery = None, x_content_sha256: DeclaredHeader = None,
        ) -> Response[EvidenceOut]:
            declared = declared_sha256(sha256, x_content_sha256)
            scope = await upload_scope(db, request.user, task_id)
            filed = await file_evidence(db, evidence_runtime, request.user, scope, request_chunks(request),
                                        expected_sha256=declared)
            return filed_response(filed)

        @get("/", operation_id="listEvidence", summary="List the evidence the caller may see")
        async def list_evidence(self, request: Req, db: DB, task_id: FromQuery[uuid.UUID | None] = None,
                                limit: Limit = 50, offset: Offset = 0) -> Page[EvidenceOut]:
            filters = [] if task_id is None else [Evidence.task_id == task_id]
            return Page(**await evidence_page(db, request.user, filters, limit=limit, offset=offset))

        @get("/{evidence_id:uuid}", operation_id="getEvidence", summary="Metadata, flags and ledger receipt of a photo")
        async def read(self, request: Req, evidence_id: FromPath[uuid.UUID], db: DB) -> EvidenceOut:
            return await evidence_out(db, await get_evidence(db, request.user, evidence_id), request.user)

        @get("/{evidence_id:uuid}/original", operation_id="getEvidenceOriginal",
             summary="The photo exactly as received (ETag = its SHA-256)",
             responses={304: ResponseSpec(None, description="The client's copy (If-None-Match) is current."),
                        410: BYTES_MISSING})
        async def original(self, request: Req, evidence_id: FromPath[uuid.UUID], db: DB, evidence_runtime: Runtime,
                           if_none_match: IfNoneMatch = None) -> Response[bytes]:
            return await original_response(evidence_runtime, await get_evidence(db, request.user, evidence_id), if_none_match)

        @get("/{evidence_id:uuid}/thumbnail", operation_id="getEvidenceThumbnail",
             summary="A JPEG thumbnail, oriented, without metadata (no location leaks)",
             responses={304: ResponseSpec(None, description="The client's copy (If-None-Match) is current."),
                        410: BYTES_MISSING})
        async def thumbnail(self, request: Req, evidence_id: FromPath[uuid.UUID], db: DB, evidence_runtime: Runtime,
                            size: FromQuery[Literal[256, 1024]] = 256, if_none_match: IfNoneMatch = None) -> Response[bytes]:
            row = await get_evidence(db, request.user, evidence_id)
            return await thumbnail_response(evidence_runtime, row, size, if_none_match)

        @post("/{evidence_id:uuid}/flags", operation_id="recomputeEvidenceFlags", status_code=HTTP_200_OK,
              guards=[requires("admin", "chief")],
              summary="Recompute the integrity flags against today's evidence, task and registry")
        async def recompute(self, request: Req, evidence_id: FromPath[uuid.UUID], db: DB,
                            evidence_runtime: Runtime) -> EvidenceOut:
            row = await get_evidence(db, request.user, evidence_id)
            await recompute_flags(db, evidence_runtime, row, request.user.username)
            await db.commit()
            return await evidence_out(db, row)

    return EvidenceController
