"""Filing a photo: stream it to storage while hashing, analyse it in the process pool, flag
it, and record it with its ledger entry in one transaction.

The same pipeline serves ``POST /evidence`` (the request body) and the last chunk of a
resumable upload (its stored parts). Nothing partial survives a failure: a blob this filing
created is deleted again unless another record cites it, and the evidence row and its ledger
entry are committed together or not at all.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import AsyncIterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import anyio
import msgspec
from sqlalchemy import String, and_, cast, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from evidence.analysis import ImageAnalysis, metadata_digest
from evidence.errors import BlobNotFound, StorageError
from evidence.formats import SNIFF_BYTES, sniff_format
from evidence.leaf import evidence_entry
from evidence.reuse import band_values, to_signed64
from evidence.storage import BlobStore, StoredBlob, put_bytes

from api import audit
from api.db import utcnow
from api.errors import Forbidden, NotFound
from api.evidence_records import BANDS, TaskScope, evidence_out, integrity, metadata_columns, task_scope
from api.evidence_runtime import EvidenceRuntime
from api.ledger import append_entry, lock_head
from api.models_draws import Task, TaskInspector
from api.models_evidence import BAND_COLUMNS, Evidence
from api.schemas.evidence import EvidenceOut
from api.security import Principal
from api.tasks import visible_tasks

__all__ = ["Filed", "file_evidence", "store_stream", "upload_scope"]

FLUSH_BYTES = 256 << 10
"""Bytes gathered from the network before they are handed to the write lane."""
WRITE_AHEAD = 4
"""Buffers the write lane may hold before receiving waits for it."""


@dataclass
class Filed:
    """The outcome of a filing: the evidence, whether it is new, and where time went (ms)."""

    evidence: EvidenceOut
    created: bool
    timing: dict[str, float] = field(default_factory=dict)

    def server_timing(self) -> str:
        return ", ".join(f"{name};dur={ms:.1f}" for name, ms in self.timing.items())


async def upload_scope(session: AsyncSession, p: Principal, task_id: uuid.UUID | None) -> TaskScope | None:
    """The task a photo is filed for: 404 if the caller may not see it, 403 if not on its team."""
    if task_id is None:
        return None
    if (await session.execute(select(Task.id).where(Task.id == task_id, visible_tasks(p)))).first() is None:
        raise NotFound("No such task.", details={"task_id": str(task_id)})
    member = exists().where(TaskInspector.task_id == task_id, TaskInspector.username == p.username)
    if not (await session.execute(select(member))).scalar():
        raise Forbidden("Only the task's team may file evidence for it.", details={"task_id": str(task_id)})
    return await task_scope(session, task_id)


async def store_stream(
    store: BlobStore, chunks: AsyncIterable[bytes], *, expected_sha256: str | None = None, sniff: bool = False
) -> StoredBlob:
    """Write a byte stream to ``store``, hashed in the same pass, and commit it.

    The network and the disk work at once: buffers go, in order, to this upload's write lane
    (one thread that hashes and writes them) while the event loop goes on receiving. The loop
    waits only when ``WRITE_AHEAD`` buffers are queued, so memory stays at a few buffers
    whatever the size. With ``sniff``, bytes that are not a supported image are refused as
    soon as their first bytes arrive. Any failure aborts the writer: nothing is kept.
    """
    writer = store.writer()
    lane = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidence-write")
    queued: deque[asyncio.Future[None]] = deque()

    def queue(data: bytes) -> None:
        future = asyncio.wrap_future(lane.submit(writer.write, data))
        future.add_done_callback(_retrieve)  # a write failing after an earlier one is not news
        queued.append(future)

    try:
        pending: list[bytes] = []
        size, head = 0, b""
        async for chunk in chunks:
            pending.append(chunk)
            size += len(chunk)
            if sniff and len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
                if len(head) == SNIFF_BYTES:
                    sniff_format(head)
            if size >= FLUSH_BYTES:
                queue(pending[0] if len(pending) == 1 else b"".join(pending))
                pending, size = [], 0
                while len(queued) > WRITE_AHEAD:
                    await queued.popleft()
        if pending:
            queue(b"".join(pending))
        while queued:
            await queued.popleft()
        if sniff and len(head) < SNIFF_BYTES:
            sniff_format(head)
        return await asyncio.wrap_future(lane.submit(writer.commit, expected_sha256))
    except BaseException:
        with anyio.CancelScope(shield=True):
            # The lane runs in order: the abort comes after the writes it was given.
            await asyncio.wrap_future(lane.submit(writer.abort))
        raise
    finally:
        lane.shutdown(wait=False)


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def _same_filing(p: Principal, scope: TaskScope | None, sha256: str) -> object:
    if scope is not None:
        return and_(Evidence.task_id == scope.id, Evidence.sha256 == sha256)
    return and_(Evidence.task_id.is_(None), Evidence.uploaded_by == p.username, Evidence.sha256 == sha256)


async def _existing(session: AsyncSession, p: Principal, scope: TaskScope | None, sha256: str) -> Evidence | None:
    query = select(Evidence).where(_same_filing(p, scope, sha256)).execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one_or_none()


async def _record(
    session: AsyncSession,
    runtime: EvidenceRuntime,
    p: Principal,
    scope: TaskScope | None,
    blob: StoredBlob,
    analysis: ImageAnalysis,
    thumbnails: list[dict[str, object]],
    received_at: datetime,
) -> tuple[Evidence, bool]:
    # Under the ledger lock: the duplicate check, the reuse lookup and the append see every
    # filing committed before, so concurrent uploads of one photo cannot miss each other.
    await lock_head(session)
    existing = await _existing(session, p, scope, blob.sha256)
    if existing is not None:
        return existing, False
    if not await anyio.to_thread.run_sync(runtime.store.exists, blob.sha256):
        raise StorageError("the photo was removed while it was being filed; send it again")
    metadata = analysis.metadata
    phash = to_signed64(analysis.phash)
    flags = await integrity(session, runtime, metadata=metadata, width=analysis.width, height=analysis.height,
                            sha256=blob.sha256, phash=phash, received_at=received_at, scope=scope)
    evidence_id = uuid.uuid4()
    digest = metadata_digest(metadata)
    appended = await append_entry(session, lambda seq: evidence_entry(
        seq, evidence_id=str(evidence_id), sha256=blob.sha256, size=blob.size, task_id=str(scope.id) if scope else "",
        inspector_id=p.username, metadata_sha256=digest, received_at=received_at,
    ))
    row = Evidence(
        id=evidence_id, task_id=scope.id if scope else None, unit_code=scope.unit_code if scope else None,
        uploaded_by=p.username, sha256=blob.sha256, size=blob.size, format=analysis.format.value,
        width=analysis.width, height=analysis.height, display_width=analysis.display_width,
        display_height=analysis.display_height, photo_metadata=msgspec.to_builtins(metadata), metadata_sha256=digest,
        **metadata_columns(metadata, runtime.policy.naive_time_zone), phash=phash,
        **dict(zip(BAND_COLUMNS, band_values(analysis.phash, BANDS), strict=True)),
        thumbnails=thumbnails, flags=msgspec.to_builtins(flags), flags_at=received_at, received_at=received_at,
        ledger_seq=appended.entry.seq,
    )
    session.add(row)
    audit.record(session, p.username, "evidence.uploaded", "evidence", evidence_id, None,
                 {"task_id": row.task_id, "sha256": row.sha256, "size": row.size, "format": row.format,
                  "ledger_seq": row.ledger_seq, "flags": sorted({f.code.value for f in flags})})
    await session.flush()
    return row, True


async def _discard_unreferenced(session: AsyncSession, store: BlobStore, shas: list[str]) -> None:
    """Delete blobs this filing created, unless a record cites them by now.

    Under the ledger lock, so that no concurrent filing of the same bytes commits between
    the check and the deletion (a filing checks that its blob exists under the same lock).
    """
    if not shas:
        return
    await session.rollback()
    await lock_head(session)
    for sha in shas:
        cited = exists().where(or_(Evidence.sha256 == sha, cast(Evidence.thumbnails, String).contains(sha)))
        if not (await session.execute(select(cited))).scalar():
            await anyio.to_thread.run_sync(store.delete, sha)
    await session.commit()


async def file_evidence(
    session: AsyncSession,
    runtime: EvidenceRuntime,
    p: Principal,
    scope: TaskScope | None,
    chunks: AsyncIterable[bytes],
    *,
    expected_sha256: str | None = None,
) -> Filed:
    """Store, analyse, flag and record one photo; commits. Returns the existing evidence
    (``created`` False) when the same bytes were already filed for the same task."""
    await session.rollback()  # no transaction may stay open while the body arrives
    started = time.perf_counter()
    blob = await store_stream(runtime.store, chunks, expected_sha256=expected_sha256, sniff=True)
    received_at = utcnow()
    timing = {"receive": (time.perf_counter() - started) * 1000}
    created = [blob.sha256] if blob.created else []
    try:
        existing = await _existing(session, p, scope, blob.sha256)
        if existing is not None:
            return Filed(await evidence_out(session, existing), False, timing)
        await session.rollback()
        started = time.perf_counter()
        try:
            analysis = await runtime.analyze(blob.sha256)
        except BlobNotFound:
            # Stored bytes this upload matched were deleted meanwhile (a sweep, a failed filing
            # of the same photo): no record lost them, so not EVIDENCE_BYTES_MISSING; resending works.
            raise StorageError("the photo was removed while it was being filed; send it again") from None
        thumbnails = []
        for thumb in analysis.thumbnails:
            stored = await anyio.to_thread.run_sync(put_bytes, runtime.store, thumb.jpeg)
            if stored.created:
                created.append(stored.sha256)
            thumbnails.append({"box": thumb.box, "width": thumb.width, "height": thumb.height, "sha256": stored.sha256})
        timing["analyze"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        row, new = await _record(session, runtime, p, scope, blob, analysis, thumbnails, received_at)
        await session.commit()
        timing["record"] = (time.perf_counter() - started) * 1000
        return Filed(await evidence_out(session, row), new, timing)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await session.rollback()
            await _discard_unreferenced(session, runtime.store, created)
        raise
