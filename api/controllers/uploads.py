"""Resumable uploads: tus 1.0 core with the creation, termination and expiration extensions.

See docs/uploads.md for the protocol as a client sees it.
"""

from __future__ import annotations

import uuid
from email.utils import format_datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, head, patch, post, route
from litestar.enums import HttpMethod
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from api.controllers.evidence import UPLOAD_ERRORS, request_chunks
from api.deps import DB, Runtime
from api.errors import Conflict, ErrorBody, PayloadTooLarge, PreconditionFailed, UnsupportedMediaType
from api.models_evidence import Upload
from api.schemas.evidence import UploadOut
from api.security import Principal, requires
from api.uploads import create_upload, delete_upload, finish_upload, get_upload, receive_chunk

__all__ = ["CHUNK_BODIES", "make_upload_controller"]

Req = Request[Principal, Any, Any]
TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,expiration"
OFFSET_STREAM = "application/offset+octet-stream"
CHUNK_BODIES = {"uploadChunk": [OFFSET_STREAM]}
MAX_LENGTH = 2**62  # fits a BIGINT; the real limit is SPOTCHECK_EVIDENCE_MAX_BYTES

TusResumable = Annotated[str | None, HeaderParameter(name="Tus-Resumable", required=False, max_length=20,
                                               description="Protocol version: 1.0.0")]
UploadLength = Annotated[int, HeaderParameter(name="Upload-Length", ge=1, le=MAX_LENGTH, description="Size of the whole file in bytes")]
UploadOffset = Annotated[int, HeaderParameter(name="Upload-Offset", ge=0, le=MAX_LENGTH, description="Where this chunk starts")]
UploadMetadata = Annotated[str | None, HeaderParameter(name="Upload-Metadata", required=False, max_length=2000,
                                                 description="tus metadata: `task_id <base64>,sha256 <base64 of hex>`")]
ContentType = Annotated[str | None, HeaderParameter(name="Content-Type", required=False, max_length=200)]
TUS_ERRORS = {
    410: ResponseSpec(ErrorBody, description="The upload expired: code UPLOAD_GONE."),
    412: ResponseSpec(ErrorBody, description="Tus-Resumable is not 1.0.0: code TUS_VERSION (Tus-Version names ours)."),
}


def _check_version(tus_resumable: str | None) -> None:
    if tus_resumable != TUS_VERSION:
        raise PreconditionFailed("Send Tus-Resumable: 1.0.0 (the only version served).", code="TUS_VERSION",
                                 details={"supported": [TUS_VERSION]}, headers={"Tus-Version": TUS_VERSION})


def _headers(upload: Upload, offset: int | None = None) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Upload-Offset": str(upload.received if offset is None else offset),
            "Upload-Length": str(upload.length), "Upload-Expires": format_datetime(upload.expires_at, usegmt=True),
            "Cache-Control": "no-store"}


def make_upload_controller(max_bytes: int) -> type[Controller]:
    """The tus endpoints; PATCH takes chunks up to ``max_bytes``."""

    class UploadController(Controller):
        path = "/api/v1/uploads"
        tags = ["evidence"]
        guards = [requires("inspector")]

        # Litestar registers a controller's handlers in name order and gives a path whose
        # first handler lacks OPTIONS its own OPTIONS answer, which would shadow this one:
        # hence a name sorting before "create" (tests/api/test_evidence_resumable.py checks).
        @route("/", http_method=[HttpMethod.OPTIONS], operation_id="uploadOptions", status_code=HTTP_204_NO_CONTENT,
               exclude_from_auth=True, summary="tus discovery: version, extensions, maximum size")
        async def capabilities(self) -> Response[None]:
            return Response(None, status_code=HTTP_204_NO_CONTENT, headers={
                "Tus-Resumable": TUS_VERSION, "Tus-Version": TUS_VERSION, "Tus-Extension": TUS_EXTENSIONS,
                "Tus-Max-Size": str(max_bytes)})

        @post("/", operation_id="createUpload", status_code=201,
              summary="Start a resumable upload (tus creation): answers its URL in Location",
              description=("Headers: `Tus-Resumable: 1.0.0`, `Upload-Length` (bytes, at most Tus-Max-Size), optional "
                           "`Upload-Metadata` with `task_id` and `sha256` (hex), each base64-encoded as tus requires."),
              responses={413: UPLOAD_ERRORS[413], **TUS_ERRORS})
        async def create(self, request: Req, db: DB, evidence_runtime: Runtime, upload_length: UploadLength,
                         tus_resumable: TusResumable = None, upload_metadata: UploadMetadata = None) -> Response[None]:
            _check_version(tus_resumable)
            if upload_length > max_bytes:
                raise PayloadTooLarge(f"Upload-Length exceeds the limit of {max_bytes} bytes.", details={"limit": max_bytes})
            upload = await create_upload(db, evidence_runtime, request.user, upload_length, upload_metadata)
            return Response(None, status_code=201, headers={**_headers(upload), "Location": f"{self.path}/{upload.id}"})

        @head("/{upload_id:uuid}", operation_id="uploadOffset", summary="How many bytes arrived (Upload-Offset)",
              responses={**TUS_ERRORS})
        async def offset(self, request: Req, upload_id: FromPath[uuid.UUID], db: DB,
                         tus_resumable: TusResumable = None) -> Response[None]:
            _check_version(tus_resumable)
            return Response(None, status_code=200, headers=_headers(await get_upload(db, request.user, upload_id)))

        @patch("/{upload_id:uuid}", operation_id="uploadChunk", status_code=HTTP_204_NO_CONTENT,
               request_max_body_size=max_bytes,
               summary="Send the next chunk (Content-Type: application/offset+octet-stream)",
               description=("`Upload-Offset` must equal the bytes received so far (else 409 and the current offset: a "
                            "chunk sent twice changes nothing). Bytes that arrive before a dropped connection are "
                            "kept. The chunk that completes the upload files the photo exactly like POST "
                            "/api/v1/evidence: the answer then names it in `X-Evidence-Id` and `Content-Location`, "
                            "or is that endpoint's error (the upload is then deleted)."),
               responses={**UPLOAD_ERRORS, **TUS_ERRORS})
        async def chunk(self, request: Req, upload_id: FromPath[uuid.UUID], db: DB, evidence_runtime: Runtime,
                        upload_offset: UploadOffset, tus_resumable: TusResumable = None,
                        content_type: ContentType = None) -> Response[None]:
            _check_version(tus_resumable)
            if (content_type or "").split(";")[0].strip().lower() != OFFSET_STREAM:
                raise UnsupportedMediaType(f"A chunk is sent as Content-Type: {OFFSET_STREAM}.")
            upload = await get_upload(db, request.user, upload_id)
            timing = ""
            if upload.evidence_id is not None:  # finished; the client lost the last answer
                if upload_offset != upload.length:  # e.g. the final chunk sent again: the 409 names the photo too
                    raise Conflict(f"Upload-Offset must be {upload.length}: the upload is complete.",
                                   code="OFFSET_MISMATCH", details={"offset": upload.length, "evidence_id": str(upload.evidence_id)},
                                   headers={**_headers(upload), "X-Evidence-Id": str(upload.evidence_id),
                                            "Content-Location": f"/api/v1/evidence/{upload.evidence_id}"})
            else:
                if not upload.received == upload.length == upload_offset:  # else: retry the filing
                    await receive_chunk(db, evidence_runtime, upload, upload_offset,
                                        request_chunks(request, keep_partial=True))
                    upload = await get_upload(db, request.user, upload_id)
                if upload.received < upload.length:
                    return Response(None, status_code=HTTP_204_NO_CONTENT, headers=_headers(upload))
                timing = (await finish_upload(db, evidence_runtime, request.user, upload)).server_timing()
                upload = await get_upload(db, request.user, upload_id)
            headers = {**_headers(upload), "X-Evidence-Id": str(upload.evidence_id),
                       "Content-Location": f"/api/v1/evidence/{upload.evidence_id}"}
            if timing:
                headers["Server-Timing"] = timing
            return Response(None, status_code=HTTP_204_NO_CONTENT, headers=headers)

        @get("/{upload_id:uuid}", operation_id="getUpload", summary="An upload's progress and, once finished, its evidence",
             responses={410: TUS_ERRORS[410]})
        async def read(self, request: Req, upload_id: FromPath[uuid.UUID], db: DB) -> UploadOut:
            u = await get_upload(db, request.user, upload_id)
            return UploadOut(id=u.id, length=u.length, offset=u.received, task_id=u.task_id, evidence_id=u.evidence_id,
                             expires_at=u.expires_at)

        @delete("/{upload_id:uuid}", operation_id="deleteUpload", summary="Abandon an upload (tus termination)",
                responses={**TUS_ERRORS})
        async def abandon(self, request: Req, upload_id: FromPath[uuid.UUID], db: DB, evidence_runtime: Runtime,
                          tus_resumable: TusResumable = None) -> Response[None]:
            _check_version(tus_resumable)
            await delete_upload(db, evidence_runtime, await get_upload(db, request.user, upload_id))
            return Response(None, status_code=HTTP_204_NO_CONTENT, headers={"Tus-Resumable": TUS_VERSION})

    return UploadController
