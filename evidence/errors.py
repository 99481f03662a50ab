"""Domain exceptions of the evidence library.

Every failure the library can report is a subclass of :class:`EvidenceError`, so
``api/`` can map the whole family to HTTP responses in one place. Each class
carries a stable ``code`` (snake_case) that ``api/`` may put in its error body.
"""

from __future__ import annotations

__all__ = [
    "EvidenceError",
    "UnsupportedFormat",
    "CorruptImage",
    "ImageTooLarge",
    "BlobTooLarge",
    "ChecksumMismatch",
    "StorageFull",
    "StorageError",
    "BlobNotFound",
    "InvalidDigest",
    "LedgerError",
    "InvalidProof",
    "InvalidCheckpoint",
    "InvalidSignature",
    "KeyFileError",
]


class EvidenceError(Exception):
    """Base class of every error raised by ``evidence``."""

    code = "evidence_error"


class UnsupportedFormat(EvidenceError):
    """The bytes are not a JPEG, PNG, WebP or HEIC/HEIF image."""

    code = "unsupported_format"


class CorruptImage(EvidenceError):
    """The bytes claim a supported format but do not decode completely."""

    code = "corrupt_image"


class ImageTooLarge(EvidenceError):
    """The image has more pixels than allowed (decompression-bomb guard)."""

    code = "image_too_large"

    def __init__(self, message: str, *, pixels: int | None = None, limit: int | None = None):
        super().__init__(message)
        self.pixels = pixels
        self.limit = limit


class BlobTooLarge(EvidenceError):
    """More bytes were written to a blob writer than its size limit allows."""

    code = "blob_too_large"

    def __init__(self, message: str, *, limit: int):
        super().__init__(message)
        self.limit = limit


class ChecksumMismatch(EvidenceError):
    """The SHA-256 declared by the client differs from the bytes received."""

    code = "checksum_mismatch"

    def __init__(self, message: str, *, expected: str, actual: str):
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class StorageError(EvidenceError):
    """The storage backend failed for a reason other than a full disk."""

    code = "storage_error"


class StorageFull(StorageError):
    """The storage backend has no room left (ENOSPC, quota); nothing was kept."""

    code = "storage_full"


class BlobNotFound(EvidenceError, KeyError):
    """No blob is stored under the requested SHA-256 (local: no file; S3: no object).

    Every backend raises it for an absent blob, never its own "not found", so that ``api/``
    can tell a record whose bytes were lost (an operator must restore them) from a store
    that failed (:class:`StorageError`, worth a retry). ``sha256`` names the blob.
    """

    code = "blob_not_found"

    def __init__(self, message: str, *, sha256: str | None = None):
        super().__init__(message)
        self.sha256 = sha256

    def __str__(self) -> str:  # KeyError would print the repr of the argument
        return Exception.__str__(self)


class InvalidDigest(EvidenceError, ValueError):
    """A string that should be a lowercase 64-digit SHA-256 hex digest is not."""

    code = "invalid_digest"


class LedgerError(EvidenceError):
    """Base class of ledger failures (bad arguments, broken proofs, bad notes)."""

    code = "ledger_error"


class InvalidProof(LedgerError):
    """An inclusion or consistency proof does not verify."""

    code = "invalid_proof"


class InvalidCheckpoint(LedgerError):
    """A checkpoint note is malformed."""

    code = "invalid_checkpoint"


class InvalidSignature(InvalidCheckpoint):
    """A checkpoint carries no valid signature by the expected key."""

    code = "invalid_signature"


class KeyFileError(LedgerError):
    """The signing key file is missing, unreadable, malformed or too open."""

    code = "key_file_error"
