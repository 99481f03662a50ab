"""Resumable uploads (tus 1.0 core + creation, termination, expiration) for flaky links.

An upload is a row (length, bytes received so far) and its parts: each PATCH stores the
bytes it carried as one blob of the staging store, even when the connection drops midway,
so the client resumes from the last byte that arrived. A PATCH whose ``Upload-Offset`` is not
the current offset (a chunk sent again after a lost response) changes nothing and gets 409
with the current offset. Two PATCHes racing on one upload cannot both advance it: the
offset moves by a compare-and-set in the database. The PATCH that completes the upload runs
the same pipeline as ``POST /evidence`` on the concatenated parts; afterwards the parts
are deleted and the upload remembers its evidence, so a client that lost that last
response can ask again. Uploads not finished in ``SPOTCHECK_UPLOAD_EXPIRY_SECONDS`` are
deleted with their parts.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

import anyio
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from evidence.errors import BlobNotFound, ChecksumMismatch, CorruptImage, ImageTooLarge, UnsupportedFormat
from evidence.storage import BlobStore
from api.db import utcnow
from api.errors import Conflict, Gone, NotFound, PayloadTooLarge, ValidationFailed
from api.evidence_intake import Filed, file_evidence, store_stream, upload_scope
from api.evidence_runtime import EvidenceRuntime
from api.models_evidence import Upload, UploadPart
from api.security import Principal

__all__ = ["create_upload", "delete_upload", "get_upload", "purge_expired", "receive_chunk",
           "finish_upload", "parse_metadata"]

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
PURGE_BATCH = 50


# The photo itself is refused: keeping its bytes for a retry would not help.
REFUSED = (UnsupportedFormat, CorruptImage, ImageTooLarge, ChecksumMismatch)


def parse_metadata(header: str | None) -> dict[str, str]:
    """Decode a tus ``Upload-Metadata`` header: ``key base64value,key2 base64value2``."""
    pairs: dict[str, str] = {}
    for item in (header or "").split(","):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition(" ")
        try:
            pairs[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ValidationFailed(f"Upload-Metadata value of {key!r} is not base64 of UTF-8 text.",
                                   details=[{"path": "header.upload-metadata", "message": f"bad value of {key!r}"}]) from None
    return pairs


def _metadata_fields(pairs: dict[str, str]) -> tuple[uuid.UUID | None, str | None]:
    task_id = sha256 = None
    if "task_id" in pairs:
        try:
            task_id = uuid.UUID(pairs["task_id"])
        except ValueError:
            raise ValidationFailed("Upload-Metadata task_id is not a UUID.",
                                   details=[{"path": "header.upload-metadata", "message": "task_id is not a UUID"}]) from None
    if "sha256" in pairs:
        if not _HEX64.fullmatch(pairs["sha256"]):
            raise ValidationFailed("Upload-Metadata sha256 is not 64 hex digits.",
                                   details=[{"path": "header.upload-metadata", "message": "sha256 is not 64 hex digits"}])
        sha256 = pairs["sha256"].lower()
    return task_id, sha256


async def create_upload(
    session: AsyncSession, runtime: EvidenceRuntime, p: Principal, length: int, metadata: str | None
) -> Upload:
    """Start an upload of ``length`` bytes; ``metadata`` may name ``task_id`` and ``sha256``."""
    task_id, sha256 = _metadata_fields(parse_metadata(metadata))
    await upload_scope(session, p, task_id)  # refuse a task the caller may not file for, now
    await purge_expired(session, runtime.staging)
    now = utcnow()
    upload = Upload(id=uuid.uuid4(), created_by=p.username, task_id=task_id, declared_sha256=sha256, length=length,
                    received=0, created_at=now, updated_at=now,
                    expires_at=now + timedelta(seconds=runtime.settings.upload_expiry_seconds))
    session.add(upload)
    await session.commit()
    return upload


async def get_upload(session: AsyncSession, p: Principal, upload_id: uuid.UUID) -> Upload:
    """The caller's own upload; 404 for anyone else's, 410 once expired."""
    query = select(Upload).where(Upload.id == upload_id, Upload.created_by == p.username)
    upload = (await session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()
    if upload is None:
        raise NotFound("No such upload.", details={"upload_id": str(upload_id)})
    if upload.expires_at <= utcnow():
        raise Gone("The upload expired; start a new one.", code="UPLOAD_GONE", details={"upload_id": str(upload_id)})
    return upload


async def _drop_parts(session: AsyncSession, staging: BlobStore, shas: set[str], *,
                      leaving: Sequence[uuid.UUID] = ()) -> None:
    """Delete the staging blobs of ``shas`` that no upload other than ``leaving`` cites
    (identical chunks share a blob)."""
    for sha in shas:
        query = select(UploadPart.upload_id).where(UploadPart.sha256 == sha)
        if leaving:
            query = query.where(UploadPart.upload_id.not_in(leaving))
        if (await session.execute(query.limit(1))).first() is None:
            await anyio.to_thread.run_sync(staging.delete, sha)


async def _remove(session: AsyncSession, staging: BlobStore, upload_ids: list[uuid.UUID], *, keep_rows: bool = False) -> None:
    """Delete the parts of ``upload_ids`` (and, unless ``keep_rows``, the uploads).

    The bytes go before the rows that cite them: a crash in between leaves rows citing
    nothing, which the next removal of the same upload (termination again, expiry) deletes,
    rather than bytes that nothing cites and nothing would ever delete.
    """
    shas = set((await session.execute(select(UploadPart.sha256).where(UploadPart.upload_id.in_(upload_ids)))).scalars())
    await _drop_parts(session, staging, shas, leaving=upload_ids)
    await session.execute(delete(UploadPart).where(UploadPart.upload_id.in_(upload_ids)))
    if not keep_rows:
        await session.execute(delete(Upload).where(Upload.id.in_(upload_ids)))
    await session.commit()


async def delete_upload(session: AsyncSession, runtime: EvidenceRuntime, upload: Upload) -> None:
    """Abandon an upload (tus termination): its row and received bytes go."""
    await _remove(session, runtime.staging, [upload.id])


async def purge_expired(session: AsyncSession, staging: BlobStore) -> int:
    """Delete a batch of expired uploads with their parts; return how many."""
    expired = list((await session.execute(
        select(Upload.id).where(Upload.expires_at <= utcnow()).limit(PURGE_BATCH)
    )).scalars())
    if expired:
        await _remove(session, staging, expired)
    return len(expired)


async def receive_chunk(
    session: AsyncSession, runtime: EvidenceRuntime, upload: Upload, offset: int, chunks: AsyncIterator[bytes]
) -> int:
    """Store the bytes of one PATCH at ``offset``; return the new offset. Bytes that arrived
    before the client went away are kept (the source simply ends early)."""
    if upload.evidence_id is not None or offset != upload.received:
        raise Conflict(f"Upload-Offset must be {upload.received}, the bytes received so far.",
                       code="OFFSET_MISMATCH", details={"offset": upload.received}, headers={"Upload-Offset": str(upload.received)})
    upload_id, start, remaining = upload.id, upload.received, upload.length - upload.received
    await session.rollback()  # no transaction stays open while the body arrives

    async def bounded() -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in chunks:
            seen += len(chunk)
            if seen > remaining:
                raise PayloadTooLarge(f"The chunk goes past Upload-Length ({remaining} bytes were left).",
                                      details={"remaining": remaining})
            yield chunk

    part = await store_stream(runtime.staging, bounded())
    if part.size == 0:
        return start
    moved = await session.execute(
        update(Upload).where(Upload.id == upload_id, Upload.received == start)
        .values(received=start + part.size, updated_at=utcnow())
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        await _drop_parts(session, runtime.staging, {part.sha256})
        now_at = (await session.execute(select(Upload.received).where(Upload.id == upload_id))).scalar_one_or_none()
        await session.rollback()
        raise Conflict("Another request moved this upload meanwhile; go on from its offset.", code="OFFSET_MISMATCH",
                       details={"offset": now_at}, headers={"Upload-Offset": str(now_at)} if now_at is not None else None)
    session.add(UploadPart(upload_id=upload_id, start=start, sha256=part.sha256, size=part.size))
    await session.commit()
    return start + part.size


async def _parts(staging: BlobStore, shas: list[str]) -> AsyncIterator[bytes]:
    for sha in shas:
        source = await anyio.to_thread.run_sync(staging.open, sha)
        try:
            while chunk := await anyio.to_thread.run_sync(source.read, 1 << 20):
                yield chunk
        finally:
            source.close()


async def finish_upload(session: AsyncSession, runtime: EvidenceRuntime, p: Principal, upload: Upload) -> Filed:
    """File the complete upload as evidence (same pipeline, same checks as ``POST /evidence``).

    On success the parts go and the upload keeps its evidence id; if the photo is refused
    (corrupt, checksum mismatch …) the whole upload goes, and the error is raised. After
    any other failure (storage or database unavailable) the parts stay: an empty PATCH at
    the final offset tries again. An upload whose parts lost their bytes (its removal was
    cut short by a crash) is removed and answers 410.
    """
    upload_id, task_id, declared = upload.id, upload.task_id, upload.declared_sha256
    shas = list((await session.execute(
        select(UploadPart.sha256).where(UploadPart.upload_id == upload_id).order_by(UploadPart.start)
    )).scalars())
    scope = await upload_scope(session, p, task_id)
    if not await anyio.to_thread.run_sync(lambda: all(map(runtime.staging.exists, shas))):  # a removal (refusal, termination) cut short by a crash
        await _remove(session, runtime.staging, [upload_id])
        raise Gone("The upload's bytes are gone; start a new one.", code="UPLOAD_GONE", details={"upload_id": str(upload_id)})
    try:
        filed = await file_evidence(session, runtime, p, scope, _parts(runtime.staging, shas), expected_sha256=declared)
    except REFUSED:
        with anyio.CancelScope(shield=True):
            await session.rollback()
            await _remove(session, runtime.staging, [upload_id])
        raise
    except BlobNotFound as exc:
        if exc.sha256 not in shas:
            raise
        # A part vanished after the check above: the same state, the same answer.
        with anyio.CancelScope(shield=True):
            await session.rollback()
            await _remove(session, runtime.staging, [upload_id])
        raise Gone("The upload's bytes are gone; start a new one.", code="UPLOAD_GONE",
                   details={"upload_id": str(upload_id)}) from None
    await session.execute(update(Upload).where(Upload.id == upload_id).values(evidence_id=filed.evidence.id, updated_at=utcnow()))
    await session.commit()
    await _remove(session, runtime.staging, [upload_id], keep_rows=True)
    return filed
