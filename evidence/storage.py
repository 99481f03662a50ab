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

from evidence.errors import BlobTooLarge, ChecksumMismatch, InvalidDigest, StorageError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "HEAD_BYTES",
    "HashingWriter",
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

HEAD_BYTES = 512
"""How many leading bytes a writer keeps for format sniffing before commit."""

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

    @property
    def head(self) -> bytes:
        """The first :data:`HEAD_BYTES` bytes written, to sniff the format (and
        abort early) before anything is committed."""

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

        Raises :class:`~evidence.errors.BlobNotFound` if absent and
        :class:`~evidence.errors.StorageError` if present but unreadable; opening first
        lets a caller answer either before it sends any byte.
        """

    def read(self, sha256: str) -> bytes:
        """Return the blob's bytes (for small blobs; prefer :meth:`open`)."""

    def exists(self, sha256: str) -> bool:
        """Whether a blob is stored under ``sha256``."""

    def size(self, sha256: str) -> int:
        """Stored size in bytes; raises :class:`~evidence.errors.BlobNotFound`."""

    def stored_at(self, sha256: str) -> float:
        """When the blob was stored (POSIX seconds); raises :class:`~evidence.errors.BlobNotFound`."""

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


class HashingWriter:
    """The half of a :class:`BlobWriter` every backend shares: SHA-256 in the same
    pass, the size limit, the head bytes, the declared checksum, and a single-use
    life cycle in which any failure aborts. A backend implements ``_put(view)``
    (store more bytes), ``_finish(sha256) -> created`` (make them durable under
    their address, or drop them if already there) and ``_discard()`` (remove
    whatever a failed or aborted write left, idempotently). Errors they raise
    should already be domain errors.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._hash = hashlib.sha256()
        self._size = 0
        self._head = bytearray()
        self._done = False

    @property
    def size(self) -> int:
        return self._size

    @property
    def head(self) -> bytes:
        return bytes(self._head)

    def _check_open(self) -> None:
        if self._done:
            raise StorageError("blob writer already committed or aborted")

    def _put(self, view: memoryview) -> None:
        raise NotImplementedError

    def _finish(self, sha256: str) -> bool:
        raise NotImplementedError

    def _discard(self) -> None:
        raise NotImplementedError

    def write(self, chunk: bytes | bytearray | memoryview) -> None:
        self._check_open()
        view = memoryview(chunk).cast("B")
        if self._size + len(view) > self.max_bytes:
            self.abort()
            raise BlobTooLarge(f"blob exceeds the limit of {self.max_bytes} bytes", limit=self.max_bytes)
        if len(self._head) < HEAD_BYTES:
            self._head += view[: HEAD_BYTES - len(self._head)]
        self._hash.update(view)
        try:
            self._put(view)
        except BaseException:
            self.abort()
            raise
        self._size += len(view)

    def commit(self, expected_sha256: str | None = None) -> StoredBlob:
        self._check_open()
        actual = self._hash.hexdigest()
        try:
            if expected_sha256 is not None:
                expected = check_digest(expected_sha256.strip().lower())
                if expected != actual:
                    raise ChecksumMismatch(
                        f"declared SHA-256 {expected} but received bytes hash to {actual}",
                        expected=expected,
                        actual=actual,
                    )
            created = self._finish(actual)
        except BaseException:
            self.abort()
            raise
        self._done = True
        return StoredBlob(sha256=actual, size=self._size, created=created)

    def abort(self) -> None:
        if not self._done:
            self._done = True
            self._discard()

    def __enter__(self) -> HashingWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.abort()


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
    that were recorded; a differing digest means the blob was altered at rest. Raises
    :class:`~evidence.errors.BlobNotFound` or :class:`~evidence.errors.StorageError`.
    """
    digest = hashlib.sha256()
    size = 0
    with store.open(sha256) as f:
        try:
            while chunk := f.read(chunk_size):
                digest.update(chunk)
                size += len(chunk)
        except OSError as exc:  # a disk fault shows on reading, after the open succeeded
            raise StorageError(f"the stored file of blob {sha256} could not be read: {exc.strerror or exc}") from exc
    return digest.hexdigest(), size
