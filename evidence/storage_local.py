"""Blob storage in a local folder (the default backend).

Layout under ``root``: ``ab/cd/<sha256>`` for blobs and ``.tmp/`` for writes in
progress. The temporary folder lives inside ``root`` so that the final
``rename`` never crosses a filesystem boundary and is therefore atomic.

A writer holds an exclusive ``flock`` on its temporary file for its whole life. The
kernel drops the lock when the process dies, however it dies (SIGKILL, OOM), so a
temporary file nobody holds is the leftover of a crashed write and can be deleted at
once, while other processes sharing the folder go on writing theirs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from evidence.errors import BlobNotFound, StorageError, StorageFull
from evidence.storage import DEFAULT_MAX_BYTES, HashingWriter, check_digest, shard_path

__all__ = ["LocalBlobStore", "read_error"]

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_TMP_DIR = ".tmp"
WRITEBACK_BYTES = 1 << 20
"""After this many new bytes, a writer asks the kernel to start writing them to disk."""
_SYNC_FILE_RANGE_WRITE = 2


def _writeback_starter() -> Any:
    """Linux's ``sync_file_range`` (not in :mod:`os`), or ``None`` where there is none.

    Asking the kernel to start writing a blob out while the rest of it is still arriving lets
    the disk work beside the network, so the fsync at commit finds less left to do (measured
    in docs/performance.md, evidence section 5). It is only a hint: durability still comes
    from that fsync.
    """
    try:
        function = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).sync_file_range
    except (OSError, AttributeError, TypeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    function.restype = ctypes.c_int
    return function


_start_writeback = _writeback_starter()


def _storage_error(exc: OSError, action: str) -> StorageError:
    if exc.errno in _FULL_ERRNOS:
        return StorageFull(f"no space left while {action}: {exc.strerror}")
    return StorageError(f"storage failed while {action}: {exc}")


def read_error(exc: OSError, sha256: str) -> BlobNotFound | StorageError:
    """The domain error for an OSError met reading the file of blob ``sha256``; its message
    leaves out the file's path, since it reaches clients."""
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):  # ENOTDIR: a shard folder replaced by a file
        return BlobNotFound(f"no blob {sha256}", sha256=sha256)
    return StorageError(f"the stored file of blob {sha256} could not be read: {exc.strerror or type(exc).__name__}")


def _fsync_dir(path: Path) -> None:
    # A rename or unlink is only durable once the directory entry itself is flushed.
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _ensure_dir(root: Path, relative: Path) -> list[Path]:
    """Create the missing folders of ``relative``; return the folders whose entries
    changed (they need an fsync once the blob is in place)."""
    changed = []
    current = root
    for part in relative.parts:
        parent, current = current, current / part
        try:
            os.mkdir(current)
        except FileExistsError:
            continue
        changed.append(parent)
    return changed


class _LocalWriter(HashingWriter):
    """Writer of one blob into ``store``; see :class:`evidence.storage.BlobWriter`."""

    def __init__(self, store: LocalBlobStore) -> None:
        super().__init__(store.max_bytes)
        self._root = store.root
        try:
            self._fd, tmp = tempfile.mkstemp(dir=store.root / _TMP_DIR, prefix="w-", suffix=".part")
        except OSError as exc:
            raise _storage_error(exc, "creating a temporary file") from exc
        self._tmp = Path(tmp)
        self._unflushed_from = 0  # start of the bytes not yet handed to writeback
        # Marks the file as in use (see the module docstring). A purge running in another
        # process in the instant between creation and lock could take the file; the write
        # would then fail at commit (a StorageError the client retries), never half-succeed.
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _put(self, view: memoryview) -> None:
        end = self._size + len(view)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            raise _storage_error(exc, "writing") from exc
        if _start_writeback is not None and end - self._unflushed_from >= WRITEBACK_BYTES:
            # A hint: if it fails, the fsync at commit does all the work, as without it.
            _start_writeback(self._fd, self._unflushed_from, end - self._unflushed_from, _SYNC_FILE_RANGE_WRITE)
            self._unflushed_from = end

    def _finish(self, sha256: str) -> bool:
        relative = Path(shard_path(sha256))
        final = self._root / relative
        try:
            if final.is_file() and final.stat().st_size == self._size:
                self._discard()  # identical bytes already stored: keep one copy
                return False
            # A same-named file of another size is damaged; the rename below heals it.
            os.fchmod(self._fd, 0o444)
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
            changed = _ensure_dir(self._root, relative.parent)
            os.replace(self._tmp, final)
            # Deepest first, all after the rename: on a journalling filesystem the
            # first fsync commits every pending entry and the rest cost nothing,
            # while a crash in between still leaves all or nothing of the blob.
            for folder in [final.parent, *reversed(changed)]:
                _fsync_dir(folder)
        except OSError as exc:
            raise _storage_error(exc, "committing") from exc
        return True

    def _discard(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        try:
            os.unlink(self._tmp)
        except FileNotFoundError:
            pass


class LocalBlobStore:
    """Content-addressed blobs in a folder; implements :class:`evidence.storage.BlobStore`.

    ``root`` is created if missing. Every commit is fsynced (file, then folder), so
    a committed blob survives a power cut.
    """

    def __init__(self, root: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.root = Path(root)
        self.max_bytes = max_bytes
        (self.root / _TMP_DIR).mkdir(parents=True, exist_ok=True)

    def writer(self) -> _LocalWriter:
        """Start a new blob; see :class:`evidence.storage.BlobWriter`."""
        return _LocalWriter(self)

    def path(self, sha256: str) -> Path:
        """Filesystem path of a blob (exists or not); lets a worker process
        open the file itself instead of receiving its bytes."""
        return self.root / shard_path(sha256)

    def open(self, sha256: str) -> BinaryIO:
        try:
            return open(self.path(sha256), "rb")
        except OSError as exc:
            raise read_error(exc, sha256) from None

    def read(self, sha256: str) -> bytes:
        with self.open(sha256) as f:
            return f.read()

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def size(self, sha256: str) -> int:
        try:
            return self.path(sha256).stat().st_size
        except OSError as exc:
            raise read_error(exc, sha256) from None

    def stored_at(self, sha256: str) -> float:
        try:
            return self.path(sha256).stat().st_mtime
        except OSError as exc:
            raise read_error(exc, sha256) from None

    def delete(self, sha256: str) -> bool:
        path = self.path(sha256)
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True

    def __iter__(self) -> Iterator[str]:
        for first in sorted(os.scandir(self.root), key=lambda e: e.name):
            if len(first.name) != 2 or not first.is_dir():
                continue
            for second in sorted(os.scandir(first.path), key=lambda e: e.name):
                if not second.is_dir():
                    continue
                prefix = first.name + second.name
                for entry in os.scandir(second.path):
                    if entry.name.startswith(prefix) and entry.is_file():
                        try:
                            yield check_digest(entry.name)
                        except ValueError:
                            continue

    def temporary_files(self) -> list[Path]:
        """Writes in progress or left by a crashed process."""
        return sorted((self.root / _TMP_DIR).iterdir())

    def purge_temporary(self) -> int:
        """Remove the temporary files of writes no live process holds (leftovers of a crash)
        and return their count; writes in progress, in any process, are left alone."""
        removed = 0
        for path in self.temporary_files():
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer
            else:
                try:
                    path.unlink()
                    removed += 1
                except FileNotFoundError:
                    pass
            finally:
                os.close(fd)
        return removed
