"""Re-checking a whole ledger against its signed checkpoints and the stored bytes.

:func:`verify_log` replays the log from its first entry: it re-encodes each
record, compares the leaf hash with the one stored when the entry was
appended, optionally re-hashes the stored blob the entry cites, rebuilds the
tree and compares its root with every signed checkpoint. It stops at the
first broken entry and says why.

What it can pinpoint: a changed record field (the stored leaf hash no longer
matches), a changed blob byte, a gap or a swap in the sequence, entries
removed from the end. If an attacker rewrote a record *and* its stored leaf
hash, only the signed checkpoint catches it; then the report names the first
entry after the last checkpoint that still matched, i.e. the start of the
range that contains the change.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable

import msgspec

from evidence.checkpoint import Checkpoint, CheckpointVerifier
from evidence.errors import BlobNotFound, InvalidCheckpoint, LedgerError, StorageError
from evidence.leaf import LedgerEntry, entry_hash
from evidence.merkle import EMPTY_ROOT, TreeState, append, root
from evidence.storage import BlobStore, hash_stored

__all__ = [
    "Receipt",
    "make_receipt",
    "BreakKind",
    "LedgerRecord",
    "BrokenEntry",
    "LogReport",
    "verify_log",
    "blob_checker",
]

BlobCheck = Callable[[LedgerEntry], "str | None"]


class Receipt(msgspec.Struct, frozen=True):
    """What an uploader gets back: where its entry sits and the tree it is in
    (hashes in lowercase hex). docs/ledger.md shows how an outsider checks one."""

    index: int
    leaf_hash: str
    tree_size: int
    root: str


def make_receipt(index: int, leaf: bytes, state: TreeState) -> Receipt:
    """The receipt of leaf ``index`` in the tree ``state`` (right after its append)."""
    return Receipt(index=index, leaf_hash=leaf.hex(), tree_size=state.size, root=root(state).hex())


class BreakKind(str, enum.Enum):
    """Why an entry is broken."""

    SEQUENCE = "sequence"
    RECORD = "record"
    BLOB = "blob"
    CHECKPOINT = "checkpoint"
    MISSING = "missing"


class LedgerRecord(msgspec.Struct, frozen=True):
    """A stored entry with the leaf hash computed when it was appended (None if not kept)."""

    entry: LedgerEntry
    leaf_hash: bytes | None = None


class BrokenEntry(msgspec.Struct, frozen=True):
    """The first entry that fails verification."""

    index: int
    kind: BreakKind
    reason: str


class LogReport(msgspec.Struct, frozen=True):
    """Outcome of :func:`verify_log`.

    ``verified_size`` is the largest checkpoint size whose root matched;
    entries beyond it (and before ``entries``) are consistent but not yet signed.
    """

    ok: bool
    entries: int
    checkpoints: int
    verified_size: int
    root: bytes
    first_broken: BrokenEntry | None = None


def blob_checker(store: BlobStore) -> BlobCheck:
    """A ``blob_check`` for :func:`verify_log` that re-hashes the blob an entry
    cites (entries with ``sha256`` and ``size`` in their data) from ``store``."""

    def check(entry: LedgerEntry) -> str | None:
        recorded, size = entry.data.get("sha256"), entry.data.get("size")
        if not isinstance(recorded, str):
            return None
        try:
            actual, actual_size = hash_stored(store, recorded)
        except BlobNotFound:
            return f"blob {recorded} is missing from storage"
        except StorageError as exc:
            return f"blob {recorded} could not be read: {exc}"
        if actual != recorded or (isinstance(size, int) and actual_size != size):
            return f"stored bytes of {recorded} now hash to {actual} ({actual_size} bytes)"
        return None

    return check


def _checkpoints(notes: Iterable[str | bytes], verifier: CheckpointVerifier, origin: str | None) -> list[Checkpoint]:
    by_size: dict[int, Checkpoint] = {}
    for note in notes:
        checkpoint = verifier.open(note, origin)
        if checkpoint.size == 0 and checkpoint.root != EMPTY_ROOT:
            raise InvalidCheckpoint("a checkpoint of size 0 must carry the empty root")
        previous = by_size.setdefault(checkpoint.size, checkpoint)
        if previous.root != checkpoint.root:
            raise InvalidCheckpoint(f"two signed checkpoints of size {checkpoint.size} disagree: the log forked")
    # The empty tree is a prefix of every tree; nothing to replay for it.
    return [by_size[size] for size in sorted(by_size) if size > 0]


def verify_log(
    records: Iterable[LedgerRecord],
    checkpoints: Iterable[str | bytes],
    verifier: CheckpointVerifier,
    *,
    origin: str | None = None,
    blob_check: BlobCheck | None = None,
) -> LogReport:
    """Replay ``records`` (in sequence order, from 0) against signed ``checkpoints``.

    Every checkpoint must carry a valid signature by ``verifier`` for ``origin``
    (default: the key name), else :class:`~evidence.errors.InvalidSignature` or
    :class:`~evidence.errors.InvalidCheckpoint` is raised before any entry is
    trusted. ``blob_check(entry)`` returns None or the reason the cited bytes are
    wrong (see :func:`blob_checker`). Records are consumed lazily, so a database
    cursor keeps memory flat.
    """
    pending = _checkpoints(checkpoints, verifier, origin)
    state = TreeState()
    verified = 0
    next_checkpoint = 0

    def report(broken: BrokenEntry | None) -> LogReport:
        return LogReport(
            ok=broken is None,
            entries=state.size,
            checkpoints=next_checkpoint,
            verified_size=verified,
            root=root(state),
            first_broken=broken,
        )

    for index, record in enumerate(records):
        entry = record.entry
        if entry.seq != index:
            return report(BrokenEntry(index, BreakKind.SEQUENCE, f"expected seq {index}, found {entry.seq}"))
        try:
            leaf = entry_hash(entry)
        except LedgerError as exc:  # a stored value was changed into one with no canonical form
            return report(BrokenEntry(index, BreakKind.RECORD, f"record cannot be encoded: {exc}"))
        if record.leaf_hash is not None and record.leaf_hash != leaf:
            return report(
                BrokenEntry(index, BreakKind.RECORD, "record no longer matches the leaf hash stored at append time")
            )
        problem = blob_check(entry) if blob_check is not None else None
        if problem is not None:
            return report(BrokenEntry(index, BreakKind.BLOB, problem))
        state, _ = append(state, leaf)
        while next_checkpoint < len(pending) and pending[next_checkpoint].size == state.size:
            if root(state) != pending[next_checkpoint].root:
                return report(
                    BrokenEntry(
                        verified,
                        BreakKind.CHECKPOINT,
                        f"entries {verified}..{state.size - 1} do not hash to the root signed at size {state.size}",
                    )
                )
            verified = state.size
            next_checkpoint += 1
    if next_checkpoint < len(pending):
        missing = pending[next_checkpoint].size
        return report(
            BrokenEntry(
                state.size,
                BreakKind.MISSING,
                f"a checkpoint was signed at size {missing} but the log holds {state.size} entries",
            )
        )
    return report(None)
