"""Photo evidence, resumable uploads and the ledger."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from evidence.audit import Receipt
from evidence.exif import CaptureTimeSource, GpsPosition, PhotoMetadata
from evidence.flags import Flag
from evidence.formats import ImageFormat

__all__ = ["ConsistencyProofOut", "EvidenceOut", "InclusionProofOut", "ThumbnailOut", "UploadOut"]


class ThumbnailOut(msgspec.Struct, kw_only=True):
    """A JPEG without metadata fitting ``box`` x ``box``: GET …/thumbnail?size=box."""

    box: int
    width: int
    height: int


class EvidenceOut(msgspec.Struct, kw_only=True):
    """A photo as filed: what it says about itself, its integrity flags and its ledger receipt.

    ``capture_time`` is an instant (a time read without offset is taken as China time and
    ``capture_time_source`` says ``exif_local``); ``metadata`` is what the EXIF said, as read.
    ``ledger_entry`` is the entry exactly as logged: with ``receipt`` and the proofs from
    ``/ledger/proofs/…`` anyone can check it (docs/ledger.md).
    """

    id: uuid.UUID
    task_id: uuid.UUID | None
    unit_code: str | None
    uploaded_by: str
    sha256: str
    size: int
    format: ImageFormat
    media_type: str
    width: int
    height: int
    display_width: int
    display_height: int
    capture_time: datetime | None
    capture_time_source: CaptureTimeSource | None
    gps: GpsPosition | None
    metadata: PhotoMetadata
    metadata_sha256: str
    phash: str
    flags: list[Flag]
    flags_at: datetime
    thumbnails: list[ThumbnailOut]
    received_at: datetime
    receipt: Receipt
    ledger_entry: dict[str, Any]


class UploadOut(msgspec.Struct, kw_only=True):
    """A resumable upload: bytes received of ``length``; ``evidence_id`` once finished."""

    id: uuid.UUID
    length: int
    offset: int
    task_id: uuid.UUID | None
    evidence_id: uuid.UUID | None
    expires_at: datetime


class InclusionProofOut(msgspec.Struct, kw_only=True):
    """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``tree_size`` leaves (hex)."""

    index: int
    tree_size: int
    leaf_hash: str
    root: str
    proof: list[str]


class ConsistencyProofOut(msgspec.Struct, kw_only=True):
    """RFC 9162 consistency proof that the tree of ``old_size`` is a prefix of ``new_size``'s."""

    old_size: int
    new_size: int
    old_root: str
    new_root: str
    proof: list[str]
