"""Photo evidence: content-addressed storage, image analysis, reuse detection,
integrity flags and a tamper-evident ledger.

A pure domain library: no HTTP, no database. api/ wires it to endpoints and
tables. Submodules:

- :mod:`evidence.storage` (interface), :mod:`evidence.storage_local`,
  :mod:`evidence.storage_s3` (needs boto3): streaming, hashing, atomic blob storage;
- :mod:`evidence.formats`: format sniffing from the bytes;
- :mod:`evidence.analysis`, :mod:`evidence.exif`, :mod:`evidence.phash`: decode
  check, metadata, thumbnails, perceptual hash (one picklable function);
- :mod:`evidence.reuse`: near-duplicate lookup (multi-index hashing);
- :mod:`evidence.flags`: integrity flags;
- :mod:`evidence.merkle`, :mod:`evidence.leaf`, :mod:`evidence.checkpoint`,
  :mod:`evidence.audit`: the RFC 9162-style ledger.

The names below are re-exported for convenience; the S3 backend is not, so that
importing :mod:`evidence` never needs boto3.
"""

from evidence.analysis import ImageAnalysis, ImageLimits, Thumbnail, analyze, metadata_digest
from evidence.audit import (
    BreakKind,
    BrokenEntry,
    LedgerRecord,
    LogReport,
    Receipt,
    blob_checker,
    make_receipt,
    verify_log,
)
from evidence.checkpoint import (
    Checkpoint,
    CheckpointSigner,
    CheckpointVerifier,
    generate_key_file,
    load_signer,
)
from evidence.errors import (
    BlobNotFound,
    BlobTooLarge,
    ChecksumMismatch,
    CorruptImage,
    EvidenceError,
    ImageTooLarge,
    InvalidCheckpoint,
    InvalidDigest,
    InvalidProof,
    InvalidSignature,
    KeyFileError,
    LedgerError,
    StorageError,
    StorageFull,
    UnsupportedFormat,
)
from evidence.exif import CaptureTimeSource, GpsPosition, PhotoMetadata
from evidence.flags import (
    Flag,
    FlagCode,
    FlagPolicy,
    ReuseMatch,
    UnitLocation,
    VisitWindow,
    haversine_m,
    integrity_flags,
)
from evidence.formats import ImageFormat, sniff_format
from evidence.leaf import LedgerEntry, canonical_bytes, entry_hash, evidence_entry
from evidence.merkle import (
    TreeState,
    consistency_proof,
    inclusion_proof,
    root,
    verify_consistency,
    verify_inclusion,
)
from evidence.phash import hamming, phash
from evidence.reuse import BandScheme, NearDuplicateIndex, band_probes, band_values
from evidence.storage import BlobStore, BlobWriter, StoredBlob, hash_stored, put_bytes, put_chunks
from evidence.storage_local import LocalBlobStore

__all__ = [
    "BandScheme",
    "BlobNotFound",
    "BlobStore",
    "BlobTooLarge",
    "BlobWriter",
    "BreakKind",
    "BrokenEntry",
    "CaptureTimeSource",
    "Checkpoint",
    "CheckpointSigner",
    "CheckpointVerifier",
    "ChecksumMismatch",
    "CorruptImage",
    "EvidenceError",
    "Flag",
    "FlagCode",
    "FlagPolicy",
    "GpsPosition",
    "ImageAnalysis",
    "ImageFormat",
    "ImageLimits",
    "ImageTooLarge",
    "InvalidCheckpoint",
    "InvalidDigest",
    "InvalidProof",
    "InvalidSignature",
    "KeyFileError",
    "LedgerEntry",
    "LedgerError",
    "LedgerRecord",
    "LocalBlobStore",
    "LogReport",
    "NearDuplicateIndex",
    "PhotoMetadata",
    "Receipt",
    "ReuseMatch",
    "StorageError",
    "StorageFull",
    "StoredBlob",
    "Thumbnail",
    "TreeState",
    "UnitLocation",
    "UnsupportedFormat",
    "VisitWindow",
    "analyze",
    "band_probes",
    "band_values",
    "blob_checker",
    "canonical_bytes",
    "consistency_proof",
    "entry_hash",
    "evidence_entry",
    "generate_key_file",
    "hamming",
    "hash_stored",
    "haversine_m",
    "inclusion_proof",
    "integrity_flags",
    "load_signer",
    "make_receipt",
    "metadata_digest",
    "phash",
    "put_bytes",
    "put_chunks",
    "root",
    "sniff_format",
    "verify_consistency",
    "verify_inclusion",
    "verify_log",
]
