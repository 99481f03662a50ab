"""Re-checking the whole ledger from the database: ``GET /ledger/verify`` and ``spotcheck ledger verify``.

:func:`evidence.audit.verify_log` replays the log against the signed checkpoints; here it is
fed from the database in batches (memory stays flat whatever the log's size) and, for each
evidence entry, also checks that the evidence row still says what the entry recorded and,
optionally, that the stored photo still hashes to the recorded SHA-256.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import anyio
import anyio.from_thread
import msgspec
from sqlalchemy import String, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from evidence.analysis import metadata_digest
from evidence.audit import BreakKind, BrokenEntry, LedgerRecord, blob_checker, verify_log
from evidence.checkpoint import CheckpointVerifier
from evidence.errors import InvalidCheckpoint, LedgerError
from evidence.exif import PhotoMetadata
from evidence.flags import FlagPolicy
from evidence.leaf import EVIDENCE_RECEIVED, LedgerEntry, decode_entry
from evidence.storage import BlobStore
from api.evidence_records import metadata_columns
from api.models_draws import Task
from api.models_evidence import Evidence, LedgerCheckpoint, LedgerEntryRow

__all__ = ["BrokenEntryOut", "LedgerVerification", "verify_ledger"]

BATCH = 1000
# How filing read capture times without an offset (api.evidence_runtime keeps the default policy).
NAIVE_TIME_ZONE = FlagPolicy().naive_time_zone


class BrokenEntryOut(msgspec.Struct, kw_only=True):
    index: int
    kind: str
    message: str


class LedgerVerification(msgspec.Struct, kw_only=True):
    """Outcome of a full replay. ``verified_size`` is the largest signed size that matched;
    ``problem`` explains a failure that is not one entry's (a stored checkpoint whose
    signature fails, two checkpoints of one size that disagree)."""

    ok: bool
    entries: int
    checkpoints: int
    verified_size: int
    root: str
    blobs_checked: bool
    first_broken: BrokenEntryOut | None = None
    problem: str | None = None


def _stored_instant(value: Any) -> datetime | None:
    """A UTC column read raw (text on SQLite, a datetime on PostgreSQL); ValueError if it is
    not a time at all."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise ValueError(f"{value!r} is not a time")
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _evidence_problem(entry: LedgerEntry, row: Any) -> str | None:
    """Why the evidence row no longer says what its ledger entry recorded (None if it does):
    the fields of the entry, the metadata its hash covers, and the columns that repeat the
    metadata or the task (what a chief is shown)."""
    if row is None:
        return "the evidence record of this entry is missing"
    data = entry.data
    recorded = {
        "evidence_id": str(row.id), "sha256": row.sha256, "size": row.size, "task_id": str(row.task_id or ""),
        "inspector_id": row.uploaded_by, "metadata_sha256": row.metadata_sha256,
    }
    for key, value in recorded.items():
        if data.get(key) != value:
            return f"evidence record's {key} is {value!r}, the ledger recorded {data.get(key)!r}"
    try:
        received_at, capture_time = _stored_instant(row.received_at), _stored_instant(row.capture_time)
    except ValueError as exc:
        return f"evidence record's times are unreadable: {exc}"
    if received_at != entry.received_at:
        shown = received_at.isoformat() if received_at else None
        return f"evidence record's received_at is {shown}, the ledger recorded {entry.received_at.isoformat()}"
    try:
        metadata = msgspec.convert(row.photo_metadata, PhotoMetadata)
    except (msgspec.ValidationError, TypeError) as exc:
        return f"evidence record's metadata is unreadable: {exc}"
    if metadata_digest(metadata) != row.metadata_sha256:
        return "evidence record's metadata no longer hashes to the recorded metadata_sha256"
    stored = {"capture_time": capture_time, "capture_time_source": row.capture_time_source,
              "gps_lat": row.gps_lat, "gps_lon": row.gps_lon, "gps_alt": row.gps_alt}
    for key, value in metadata_columns(metadata, NAIVE_TIME_ZONE).items():
        if stored[key] != value:
            return f"evidence record's {key} is {stored[key]!r}, its metadata says {value!r}"
    if row.unit_code != row.task_unit:
        return f"evidence record's unit_code is {row.unit_code!r}, its task's unit is {row.task_unit!r}"
    return None


async def verify_ledger(
    session: AsyncSession, verifier: CheckpointVerifier, store: BlobStore | None, *, origin: str | None = None
) -> LedgerVerification:
    """Replay the ledger in ``session``'s database; ``store`` given: re-hash every cited blob."""
    notes = list((await session.execute(select(LedgerCheckpoint.note).order_by(LedgerCheckpoint.size))).scalars())
    # The times raw, so that one a hand made unreadable is reported at its entry, not raised.
    columns = (Evidence.id, Evidence.sha256, Evidence.size, Evidence.task_id, Evidence.uploaded_by,
               Evidence.metadata_sha256, Evidence.photo_metadata, type_coerce(Evidence.received_at, String).label("received_at"),
               type_coerce(Evidence.capture_time, String).label("capture_time"), Evidence.capture_time_source,
               Evidence.gps_lat, Evidence.gps_lon, Evidence.gps_alt, Evidence.unit_code, Task.unit_code.label("task_unit"))
    rows: dict[int, Any] = {}
    kinds: dict[int, BreakKind] = {}
    undecodable: list[BrokenEntry] = []
    check_blob = blob_checker(store) if store is not None else None

    async def fetch(after: int) -> list[Any]:
        query = (select(LedgerEntryRow.seq, LedgerEntryRow.entry, LedgerEntryRow.leaf_hash, *columns)
                 .outerjoin(Evidence, Evidence.ledger_seq == LedgerEntryRow.seq)
                 .outerjoin(Task, Task.id == Evidence.task_id)
                 .where(LedgerEntryRow.seq > after).order_by(LedgerEntryRow.seq).limit(BATCH))
        return list((await session.execute(query)).all())

    def records() -> Iterator[LedgerRecord]:
        after, position = -1, 0
        while batch := anyio.from_thread.run(fetch, after):
            for row in batch:
                try:
                    entry = decode_entry(row.entry.encode())
                except (LedgerError, UnicodeEncodeError) as exc:
                    undecodable.append(BrokenEntry(position, BreakKind.RECORD, f"stored entry is not canonical: {exc}"))
                    return
                rows[entry.seq] = row if row.id is not None else None
                position += 1
                yield LedgerRecord(entry, bytes(row.leaf_hash))
            after = batch[-1].seq

    def check(entry: LedgerEntry) -> str | None:
        row = rows.pop(entry.seq, None)
        if entry.event_type == EVIDENCE_RECEIVED:
            problem = _evidence_problem(entry, row)
            if problem is not None:
                kinds[entry.seq] = BreakKind.RECORD
                return problem
        return check_blob(entry) if check_blob is not None else None

    try:
        report = await anyio.to_thread.run_sync(
            lambda: verify_log(records(), notes, verifier, origin=origin, blob_check=check)
        )
    except InvalidCheckpoint as exc:
        return LedgerVerification(ok=False, entries=0, checkpoints=0, verified_size=0, root="",
                                  blobs_checked=store is not None, problem=f"stored checkpoints: {exc}")
    broken = report.first_broken
    if undecodable and (broken is None or broken.index >= undecodable[0].index):
        broken = undecodable[0]
    out = None
    if broken is not None:
        kind = kinds.get(broken.index, broken.kind) if broken.kind is BreakKind.BLOB else broken.kind
        out = BrokenEntryOut(index=broken.index, kind=kind.value, message=broken.reason)
    return LedgerVerification(ok=out is None, entries=report.entries, checkpoints=report.checkpoints,
                              verified_size=report.verified_size, root=report.root.hex(),
                              blobs_checked=store is not None, first_broken=out)
