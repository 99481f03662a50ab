"""Evidence records: who may see them, their integrity flags, and their JSON form.

Who sees a piece of evidence: chiefs and admins all; an inspector what they filed and
what was filed for a task of their team; a unit account only evidence cited by a deduction
standing (confirmed or adjusted) against it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Sequence

import msgspec
from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from evidence.audit import Receipt
from evidence.exif import PhotoMetadata
from evidence.flags import Flag, ReuseMatch, UnitLocation, VisitWindow, integrity_flags
from evidence.formats import ImageFormat
from evidence.phash import hamming
from evidence.reuse import BandScheme, band_probes, from_signed64
from api import audit
from api.db import utcnow
from api.errors import NotFound
from api.evidence_runtime import EvidenceRuntime
from api.models import Unit
from api.models_draws import Task, TaskInspector
from api.models_field import CheckIn
from api.models_evidence import BAND_COLUMNS, Evidence, LedgerEntryRow
from api.models_review import CitedEvidence
from api.models_scoring import Deduction
from api.schemas.evidence import EvidenceOut, ThumbnailOut
from api.security import Principal

__all__ = [
    "BANDS",
    "TaskScope",
    "evidence_out",
    "evidence_page",
    "evidence_visibility",
    "get_evidence",
    "integrity",
    "metadata_columns",
    "recompute_flags",
    "task_scope",
]

BANDS = BandScheme(len(BAND_COLUMNS))
MAX_MATCHES = 200  # per kind; a flag names at most this many other photos


def evidence_visibility(p: Principal) -> ColumnElement[bool]:
    if p.role in ("admin", "chief"):
        return true()
    if p.role == "inspector":
        team = exists().where(and_(TaskInspector.task_id == Evidence.task_id, TaskInspector.username == p.username))
        return or_(Evidence.uploaded_by == p.username, team)
    if p.unit_code is None:
        return false()
    cited = (select(CitedEvidence.evidence_id).join(Deduction, Deduction.id == CitedEvidence.deduction_id)
             .where(CitedEvidence.evidence_id == Evidence.id, Deduction.unit_code == p.unit_code,
                    Deduction.status.in_(("confirmed", "adjusted"))))
    return exists(cited)


async def get_evidence(session: AsyncSession, p: Principal, evidence_id: uuid.UUID) -> Evidence:
    """The evidence if the caller may see it; 404 otherwise (as if it did not exist)."""
    row = (await session.execute(select(Evidence).where(Evidence.id == evidence_id, evidence_visibility(p)))).scalar_one_or_none()
    if row is None:
        raise NotFound("No such evidence.", details={"evidence_id": str(evidence_id)})
    return row


@dataclass(frozen=True)
class TaskScope:
    """What the flags need to know of the task a photo is filed for."""

    id: uuid.UUID
    unit_code: str
    due_from: date
    due_to: date
    unit_lat: float | None
    unit_lon: float | None
    checked_in: datetime | None = None
    checked_out: datetime | None = None


async def task_scope(session: AsyncSession, task_id: uuid.UUID) -> TaskScope | None:
    row = (await session.execute(
        select(Task.id, Task.unit_code, Task.due_from, Task.due_to, Unit.lat, Unit.lon)
        .join(Unit, Unit.code == Task.unit_code).where(Task.id == task_id)
    )).first()
    if row is None:
        return None
    first_in = (await session.execute(select(func.min(CheckIn.server_time)).where(CheckIn.task_id == task_id, CheckIn.kind == "in"))).scalar()
    last_out = (await session.execute(select(func.max(CheckIn.server_time)).where(CheckIn.task_id == task_id, CheckIn.kind == "out"))).scalar()
    return TaskScope(*row, checked_in=first_in, checked_out=last_out)


async def _reuse_matches(
    session: AsyncSession, sha256: str, phash: int, filed_before: int | None, max_distance: int
) -> list[ReuseMatch]:
    """Earlier evidence with the same bytes, or a pHash within ``max_distance`` bits (found
    through the indexed band columns, exact by the pigeonhole principle: evidence.reuse).
    Only what was filed before (ledger order) counts: a photo reuses an earlier one, and the
    first of them is the original, however often its flags are worked out again."""
    columns = (Evidence.id, Evidence.task_id, Evidence.unit_code, Evidence.sha256, Evidence.phash)
    others = [] if filed_before is None else [Evidence.ledger_seq < filed_before]
    probes = band_probes(from_signed64(phash), max_distance, BANDS)
    near = or_(*(getattr(Evidence, name).in_(values) for name, values in zip(BAND_COLUMNS, probes, strict=True)))
    rows = list(await session.execute(select(*columns).where(Evidence.sha256 == sha256, *others).limit(MAX_MATCHES)))
    rows += await session.execute(select(*columns).where(near, Evidence.sha256 != sha256, *others).limit(MAX_MATCHES * 4))
    matches = []
    for row in rows:
        distance = hamming(row.phash, phash)
        if row.sha256 == sha256 or distance <= max_distance:
            matches.append(ReuseMatch(evidence_id=str(row.id), task_id=str(row.task_id or ""),
                                      unit_id=row.unit_code or "", distance=distance, same_bytes=row.sha256 == sha256))
    return matches


def _window(scope: TaskScope, runtime: EvidenceRuntime) -> VisitWindow:
    """The visit: from the first check-in to the last check-out when the inspectors checked
    in on site, else the task's due window in dates, China time (first day's midnight to the
    last day's end); a late check-in without a check-out yet runs until now."""
    zone = runtime.policy.naive_time_zone
    start = scope.checked_in or datetime.combine(scope.due_from, time(), zone)
    end = scope.checked_out if scope.checked_out and scope.checked_out > start else datetime.combine(scope.due_to + timedelta(days=1), time(), zone)
    if end < start:  # checked in after the due window and not (yet) out: the visit is still going on
        end = max(start, utcnow())
    return VisitWindow(start=start, end=end)


async def integrity(
    session: AsyncSession,
    runtime: EvidenceRuntime,
    *,
    metadata: PhotoMetadata,
    width: int,
    height: int,
    sha256: str,
    phash: int,
    received_at: datetime,
    scope: TaskScope | None,
    filed_before: int | None = None,
) -> list[Flag]:
    """The integrity flags of a photo (``phash`` as stored: signed 64-bit); ``filed_before``:
    its ledger index, for a photo already filed (a new one is compared with everything)."""
    matches = await _reuse_matches(session, sha256, phash, filed_before, runtime.policy.near_max_distance)
    unit = None
    if scope is not None and scope.unit_lat is not None and scope.unit_lon is not None:
        unit = UnitLocation(scope.unit_lat, scope.unit_lon, runtime.unit_radius_m)
    return integrity_flags(
        metadata, width=width, height=height, received_at=received_at,
        task_id=str(scope.id) if scope else "", unit_id=scope.unit_code if scope else "",
        window=_window(scope, runtime) if scope else None, unit=unit, matches=matches, policy=runtime.policy,
    )


async def recompute_flags(session: AsyncSession, runtime: EvidenceRuntime, row: Evidence, actor: str) -> None:
    """Recompute ``row``'s flags against today's evidence, task and registry (the caller commits).

    Issue 6 calls it once check-in times narrow the visit window. Flags that change are
    audited as ``evidence.flags_changed`` (their codes).
    """
    scope = await task_scope(session, row.task_id) if row.task_id else None
    flags = await integrity(
        session, runtime, metadata=msgspec.convert(row.photo_metadata, PhotoMetadata), width=row.width,
        height=row.height, sha256=row.sha256, phash=row.phash, received_at=row.received_at, scope=scope,
        filed_before=row.ledger_seq,
    )
    new = msgspec.to_builtins(flags)
    if new != row.flags:
        audit.record(session, actor, "evidence.flags_changed", "evidence", row.id, {"flags": _codes(row.flags)},
                     {"flags": _codes(new)})
    row.flags = new
    row.flags_at = utcnow()


def _codes(flags: list[dict[str, Any]]) -> list[str]:
    return sorted({f["code"] for f in flags})


def metadata_columns(metadata: PhotoMetadata, naive_zone: timezone) -> dict[str, Any]:
    """The evidence row's columns that repeat its metadata, for queries (visit windows,
    distances). The ledger covers the metadata by its hash, and ``ledger verify`` recomputes
    these from it, so that an edited column is caught like an edited metadata field.
    A capture time without offset is read in ``naive_zone``."""
    captured, gps = metadata.capture_time, metadata.gps
    if captured is not None:
        captured = (captured if captured.tzinfo else captured.replace(tzinfo=naive_zone)).astimezone(timezone.utc)
    return {"capture_time": captured,
            "capture_time_source": metadata.capture_time_source.value if metadata.capture_time_source else None,
            "gps_lat": gps.latitude if gps else None, "gps_lon": gps.longitude if gps else None,
            "gps_alt": gps.altitude_m if gps else None}


def _shown_flags(row: Evidence, viewer: Principal | None) -> list[Flag]:
    flags = msgspec.convert(row.flags, list[Flag])
    if viewer is not None and viewer.role == "unit":
        # A unit sees that its photo is flagged, not which other visit's photo it repeats.
        flags = [msgspec.structs.replace(f, evidence_ids=()) for f in flags]
    return flags


def _out(row: Evidence, entry: LedgerEntryRow, viewer: Principal | None = None) -> EvidenceOut:
    metadata = msgspec.convert(row.photo_metadata, PhotoMetadata)
    fmt = ImageFormat(row.format)
    return EvidenceOut(
        id=row.id, task_id=row.task_id, unit_code=row.unit_code, uploaded_by=row.uploaded_by, sha256=row.sha256,
        size=row.size, format=fmt, media_type=fmt.media_type, width=row.width, height=row.height,
        display_width=row.display_width, display_height=row.display_height, capture_time=row.capture_time,
        capture_time_source=metadata.capture_time_source, gps=metadata.gps, metadata=metadata,
        metadata_sha256=row.metadata_sha256, phash=f"{from_signed64(row.phash):016x}",
        flags=_shown_flags(row, viewer), flags_at=row.flags_at,
        thumbnails=[ThumbnailOut(box=t["box"], width=t["width"], height=t["height"]) for t in row.thumbnails],
        received_at=row.received_at,
        receipt=Receipt(index=entry.seq, leaf_hash=bytes(entry.leaf_hash).hex(), tree_size=entry.seq + 1,
                        root=bytes(entry.root).hex()),
        ledger_entry=json.loads(entry.entry),
    )


async def evidence_out(session: AsyncSession, row: Evidence, viewer: Principal | None = None) -> EvidenceOut:
    """The photo's record as ``viewer`` may see it (a unit: without the ids of other visits'
    photos its flags point at)."""
    entry = (await session.execute(select(LedgerEntryRow).where(LedgerEntryRow.seq == row.ledger_seq))).scalar_one()
    return _out(row, entry, viewer)


async def evidence_page(
    session: AsyncSession, p: Principal, filters: Sequence[ColumnElement[bool]], *, limit: int, offset: int
) -> dict[str, Any]:
    where = [evidence_visibility(p), *filters]
    total = (await session.execute(select(func.count()).select_from(Evidence).where(*where))).scalar_one()
    rows = await session.execute(
        select(Evidence, LedgerEntryRow).join(LedgerEntryRow, LedgerEntryRow.seq == Evidence.ledger_seq)
        .where(*where).order_by(Evidence.received_at, Evidence.id).limit(limit).offset(offset)
    )
    return {"items": [_out(e, l, p) for e, l in rows], "total": total, "limit": limit, "offset": offset}
