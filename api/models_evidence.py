"""SQLAlchemy models of photo evidence, resumable uploads and the ledger.

The photo bytes live in the blob store (content-addressed by SHA-256); these tables hold
what was read from them, who filed them for which task, and the append-only Merkle log
that makes every record tamper-evident (see docs/ledger.md).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, JSONType, UTCDateTime, utcnow

__all__ = [
    "Evidence",
    "LedgerCheckpoint",
    "LedgerEntryRow",
    "LedgerHead",
    "LedgerNode",
    "Upload",
    "UploadPart",
    "BAND_COLUMNS",
]

BAND_COLUMNS = ("band_0", "band_1", "band_2", "band_3")
"""The pHash cut in four 16-bit bands (evidence.reuse.BandScheme(4)), one index each."""


class Evidence(Base):
    """One photo filed by an inspector, with what it says about itself and its flags."""

    __tablename__ = "evidence"
    # The same bytes filed twice for one task are one piece of evidence.
    __table_args__ = (UniqueConstraint("task_id", "sha256"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    task_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tasks.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    unit_code: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    uploaded_by: Mapped[str] = mapped_column(String(64), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str] = mapped_column(String(8))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    display_width: Mapped[int] = mapped_column(Integer)
    display_height: Mapped[int] = mapped_column(Integer)
    # evidence.exif.PhotoMetadata as JSON; its canonical digest is in the ledger entry.
    photo_metadata: Mapped[dict[str, Any]] = mapped_column(JSONType)
    metadata_sha256: Mapped[str] = mapped_column(String(64))
    capture_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    capture_time_source: Mapped[str | None] = mapped_column(String(20), nullable=True)
    gps_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    gps_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    gps_alt: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The 64-bit perceptual hash as a signed BIGINT, and its bands for the near-duplicate index.
    phash: Mapped[int] = mapped_column(BigInteger)
    band_0: Mapped[int] = mapped_column(Integer, index=True)
    band_1: Mapped[int] = mapped_column(Integer, index=True)
    band_2: Mapped[int] = mapped_column(Integer, index=True)
    band_3: Mapped[int] = mapped_column(Integer, index=True)
    thumbnails: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    flags_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ledger_seq: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_entries.seq", ondelete="RESTRICT"), unique=True)


class Upload(Base):
    """A resumable (tus) upload in progress; its bytes so far are parts in the staging store."""

    __tablename__ = "uploads"
    __table_args__ = (CheckConstraint("received >= 0 AND received <= length", name="received"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    created_by: Mapped[str] = mapped_column(String(64), index=True)
    task_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=True
    )
    declared_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    length: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    evidence_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("evidence.id", ondelete="CASCADE"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class UploadPart(Base):
    """The bytes of one PATCH, stored as a blob of the staging store."""

    __tablename__ = "upload_parts"

    upload_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True
    )
    start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)


class LedgerHead(Base):
    """The one row every append locks: the log's size and the frontier of its Merkle tree."""

    __tablename__ = "ledger_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    # The 32-byte roots of the perfect subtrees on the right edge, left to right.
    frontier: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LedgerEntryRow(Base):
    """One leaf of the log: the entry's canonical JSON, its leaf hash and the root after it."""

    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_type: Mapped[str] = mapped_column(String(64), index=True)
    entry: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LedgerNode(Base):
    """A completed perfect-subtree node of the Merkle tree (never changes once written)."""

    __tablename__ = "ledger_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerCheckpoint(Base):
    """A signed checkpoint (C2SP signed note) of the log at ``size``."""

    __tablename__ = "ledger_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
