"""The one interface of content-addressed blob storage, and helpers shared by backends.

A blob is an immutable byte string stored under its SHA-256 (lowercase hex). Bytes
arrive through a :class:`BlobWriter` that hashes them in the same pass as it stores
them, so memory stays flat whatever the size; nothing becomes visible under a key
until :meth:`BlobWriter.commit` succeeds, and a failed or aborted write leaves
nothing behind. Identical bytes are stored once.

Backends: :class:`evidence.storage_local.LocalBlobStore` (default) and
:class:`evidence.storage_s3.S3BlobStore`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO, Protocol, runtime_checkable

import msgspec

from evidence.errors import InvalidDigest

__all__ = [
    "DEFAULT_MAX_BYTES",
    "StoredBlob",
    "BlobWriter",
    "BlobStore",
    "check_digest",
    "shard_path",
    "put_bytes",
    "put_chunks",
    "hash_stored",
]

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
"""Default size limit of one blob (25 MiB)."""

_DIGEST_RE = re.compile(r"[0-9a-f]{64}")


class StoredBlob(msgspec.Struct, frozen=True):
    """Outcome of a successful commit.

    ``created`` is False when identical bytes were already stored (deduplicated).
    """

    sha256: str
    size: int
    created: bool


@runtime_checkable
class BlobWriter(Protocol):
    """A single-use writer of one blob. Use it as a context manager: leaving the
    block without :meth:`commit` aborts it."""

    @property
    def size(self) -> int:
        """Bytes written so far."""

    def write(self, chunk: bytes | bytearray | memoryview) -> None:
        """Hash and store ``chunk``.

        Raises :class:`~evidence.errors.BlobTooLarge` when the total would exceed
        the store's limit and :class:`~evidence.errors.StorageFull` when the backend
        has no room; either way the writer is aborted and nothing is kept.
        """

    def commit(self, expected_sha256: str | None = None) -> StoredBlob:
        """Make the blob durable under its SHA-256 and return it.

        If ``expected_sha256`` is given and differs from the digest of the bytes
        written, raise :class:`~evidence.errors.ChecksumMismatch` and keep nothing.
        Commit is atomic: a reader sees either no blob or all its bytes.
        """

    def abort(self) -> None:
        """Discard everything written; idempotent; a no-op after commit."""

    def __enter__(self) -> BlobWriter: ...

    def __exit__(self, *exc_info: object) -> None: ...


@runtime_checkable
class BlobStore(Protocol):
    """Content-addressed, deduplicating, atomic blob storage."""

    max_bytes: int

    def writer(self) -> BlobWriter:
        """Start a new blob. The caller must commit or abort it (or use ``with``)."""

    def open(self, sha256: str) -> BinaryIO:
        """Return a readable binary file object for the blob; the caller closes it.

        Raises :class:`~evidence.errors.BlobNotFound` if absent.
        """

    def read(self, sha256: str) -> bytes:
        """Return the blob's bytes (for small blobs; prefer :meth:`open`)."""

    def exists(self, sha256: str) -> bool:
        """Whether a blob is stored under ``sha256``."""

    def size(self, sha256: str) -> int:
        """Stored size in bytes; raises :class:`~evidence.errors.BlobNotFound`."""

    def delete(self, sha256: str) -> bool:
        """Remove the blob; return whether it existed. Callers must make sure no
        other record still cites the same bytes (they are shared)."""

    def __iter__(self) -> Iterator[str]:
        """Yield the SHA-256 of every stored blob, in no particular order."""


def check_digest(sha256: str) -> str:
    """Return ``sha256`` if it is 64 lowercase hex digits, else raise
    :class:`~evidence.errors.InvalidDigest`. Keys become file paths and object
    names, so nothing else may pass."""
    if not isinstance(sha256, str) or not _DIGEST_RE.fullmatch(sha256):
        raise InvalidDigest(f"not a lowercase SHA-256 hex digest: {sha256!r:.80}")
    return sha256


def shard_path(sha256: str) -> str:
    """Relative storage path ``ab/cd/abcd…`` of a digest.

    Two levels of 256 fan-out keep directories small (a few hundred entries per
    leaf directory at 10 million blobs) without a deep tree to walk.
    """
    check_digest(sha256)
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def put_chunks(
    store: BlobStore,
    chunks: Iterable[bytes],
    *,
    expected_sha256: str | None = None,
) -> StoredBlob:
    """Stream ``chunks`` into ``store`` and commit; abort on any error."""
    with store.writer() as writer:
        for chunk in chunks:
            writer.write(chunk)
        return writer.commit(expected_sha256)


def put_bytes(store: BlobStore, data: bytes, *, expected_sha256: str | None = None) -> StoredBlob:
    """Store ``data`` in one call (tests, thumbnails, small blobs)."""
    return put_chunks(store, (data,), expected_sha256=expected_sha256)


def hash_stored(store: BlobStore, sha256: str, *, chunk_size: int = 1 << 20) -> tuple[str, int]:
    """Re-read a stored blob and return its actual ``(sha256, size)``.

    The ledger audit uses it to prove that the stored bytes are still the bytes
    that were recorded; a differing digest means the blob was altered at rest.
    """
    digest = hashlib.sha256()
    size = 0
    with store.open(sha256) as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
