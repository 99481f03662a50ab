"""The ledger in the database: appends serialised by the database, proofs and checkpoints.

The Merkle log of :mod:`evidence.merkle` is kept incrementally: ``ledger_head`` holds the
size and frontier, ``ledger_nodes`` every completed perfect-subtree node (so any proof is a
handful of indexed reads), ``ledger_entries`` the canonical bytes of every leaf.

Appends are serialised in the database, never in process memory, so any number of workers
and hosts can append: on PostgreSQL the head row is locked (``SELECT … FOR UPDATE``) until
the appending transaction commits; on SQLite a no-op ``UPDATE`` of the head row is the
transaction's first write, which takes SQLite's single write lock at once (the equivalent of
``BEGIN IMMEDIATE``: waiting writers queue on ``busy_timeout`` instead of failing later).

Functions never commit: the caller appends in the same transaction as the record the entry
describes, so both exist or neither does.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from sqlalchemy import select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from evidence import merkle
from evidence.audit import Receipt, make_receipt
from evidence.checkpoint import Checkpoint, CheckpointSigner
from evidence.leaf import LedgerEntry, canonical_bytes
from api.db import utcnow
from api.errors import ValidationFailed
from api.models_evidence import LedgerCheckpoint, LedgerEntryRow, LedgerHead, LedgerNode

__all__ = [
    "Appended",
    "append_entry",
    "append_event",
    "checkpoint_note",
    "consistency",
    "head_state",
    "inclusion",
    "lock_head",
]

HEAD_ID = 1


class Appended:
    """An entry just appended: its receipt and its canonical bytes."""

    __slots__ = ("receipt", "entry", "canonical")

    def __init__(self, receipt: Receipt, entry: LedgerEntry, canonical: bytes) -> None:
        self.receipt = receipt
        self.entry = entry
        self.canonical = canonical


def _state(head: LedgerHead | None) -> merkle.TreeState:
    if head is None:
        return merkle.TreeState()
    frontier = bytes(head.frontier)
    return merkle.TreeState(head.size, tuple(frontier[i : i + 32] for i in range(0, len(frontier), 32)))


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def lock_head(session: AsyncSession) -> LedgerHead:
    """Lock the ledger head for this transaction (see the module docstring) and return it.

    Call it before the transaction's first write on SQLite: a transaction that wrote
    already holds the write lock anyway, but one that only read cannot be upgraded safely.
    """
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(update(LedgerHead).where(LedgerHead.id == HEAD_ID).values(size=LedgerHead.size))
    query = select(LedgerHead).where(LedgerHead.id == HEAD_ID).with_for_update().execution_options(populate_existing=True)
    head = (await session.execute(query)).scalar_one_or_none()
    if head is None:
        # The migration creates the row; an emptied database gets it back here. Two workers
        # may race to insert it: the loser's insert does nothing and both lock the same row.
        stmt = _insert(session)(LedgerHead).values(id=HEAD_ID, size=0, frontier=b"", updated_at=utcnow())
        await session.execute(stmt.on_conflict_do_nothing(index_elements=["id"]))
        head = (await session.execute(query)).scalar_one()
    return head


async def append_entry(session: AsyncSession, make_entry: Callable[[int], LedgerEntry]) -> Appended:
    """Append the entry ``make_entry(seq)`` (``seq`` is its position) and return its receipt.

    Locks the head; the caller commits (releasing the lock) or rolls back (appending nothing).
    """
    head = await lock_head(session)
    state = _state(head)
    entry = make_entry(state.size)
    canonical = canonical_bytes(entry)
    leaf = merkle.leaf_hash(canonical)
    new_state, nodes = merkle.append(state, leaf)
    tree_root = merkle.root(new_state)
    session.add(LedgerEntryRow(seq=entry.seq, event_type=entry.event_type, entry=canonical.decode(),
                               leaf_hash=leaf, root=tree_root, created_at=utcnow()))
    session.add_all(LedgerNode(level=n.level, position=n.index, hash=n.hash) for n in nodes)
    head.size = new_state.size
    head.frontier = b"".join(new_state.frontier)
    head.updated_at = utcnow()
    await session.flush()
    return Appended(make_receipt(entry.seq, leaf, new_state), entry, canonical)


async def append_event(
    session: AsyncSession, event_type: str, data: Mapping[str, str | int | bool | None], *, at: datetime | None = None
) -> Receipt:
    """Append a decision event (e.g. ``deduction.confirmed``) and return its receipt.

    ``data`` holds flat snake_case keys with str, int, bool or None values (decimals as
    strings); ``at`` defaults to now. Call it inside the transaction that stores the
    decision, before that transaction's first write on SQLite (see :func:`lock_head`), and
    commit both together. Raises :class:`evidence.LedgerError` for values with no canonical
    form.
    """
    moment = at or utcnow()
    appended = await append_entry(session, lambda seq: LedgerEntry(seq, event_type, moment, dict(data)))
    return appended.receipt


async def head_state(session: AsyncSession) -> merkle.TreeState:
    """The log's current size and frontier (no lock: the row changes atomically)."""
    head = (await session.execute(select(LedgerHead).where(LedgerHead.id == HEAD_ID))).scalar_one_or_none()
    return _state(head)


async def _nodes(session: AsyncSession, keys: list[tuple[int, int]]) -> merkle.NodeGetter:
    found: dict[tuple[int, int], bytes] = {}
    if keys:
        rows = await session.execute(
            select(LedgerNode.level, LedgerNode.position, LedgerNode.hash).where(
                tuple_(LedgerNode.level, LedgerNode.position).in_(keys)
            )
        )
        found = {(r.level, r.position): bytes(r.hash) for r in rows}
    return lambda level, index: found[(level, index)]


async def _root_at(session: AsyncSession, size: int) -> bytes:
    if size == 0:
        return merkle.EMPTY_ROOT
    return bytes((await session.execute(select(LedgerEntryRow.root).where(LedgerEntryRow.seq == size - 1))).scalar_one())


async def _current_size(session: AsyncSession) -> int:
    return (await head_state(session)).size


def _out_of_range(message: str, **details: int) -> ValidationFailed:
    return ValidationFailed(message, code="OUT_OF_RANGE", details=details)


async def inclusion(session: AsyncSession, index: int, tree_size: int) -> dict[str, Any]:
    """Inclusion proof of leaf ``index`` in the tree of ``tree_size`` leaves (hex hashes)."""
    size = await _current_size(session)
    if not 0 <= index < tree_size <= size:
        raise _out_of_range(f"need 0 <= index < tree_size <= {size} (the log's size)", index=index,
                            tree_size=tree_size, log_size=size)
    get = await _nodes(session, merkle.inclusion_proof_nodes(index, tree_size))
    proof = merkle.inclusion_proof(index, tree_size, get)
    leaf = (await session.execute(select(LedgerEntryRow.leaf_hash).where(LedgerEntryRow.seq == index))).scalar_one()
    return {"index": index, "tree_size": tree_size, "leaf_hash": bytes(leaf).hex(),
            "root": (await _root_at(session, tree_size)).hex(), "proof": [p.hex() for p in proof]}


async def consistency(session: AsyncSession, old_size: int, new_size: int) -> dict[str, Any]:
    """Consistency proof between the trees of ``old_size`` and ``new_size`` leaves."""
    size = await _current_size(session)
    if not 0 <= old_size <= new_size <= size:
        raise _out_of_range(f"need 0 <= old_size <= new_size <= {size} (the log's size)", old_size=old_size,
                            new_size=new_size, log_size=size)
    get = await _nodes(session, merkle.consistency_proof_nodes(old_size, new_size))
    proof = merkle.consistency_proof(old_size, new_size, get)
    return {"old_size": old_size, "new_size": new_size, "old_root": (await _root_at(session, old_size)).hex(),
            "new_root": (await _root_at(session, new_size)).hex(), "proof": [p.hex() for p in proof]}


async def checkpoint_note(session: AsyncSession, signer: CheckpointSigner) -> LedgerCheckpoint:
    """The newest signed checkpoint, signing (and storing) a new one if the log grew since.

    Commits. Two workers signing the same size at once store one note; both return it.
    """
    state = await head_state(session)
    latest = (await session.execute(select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1))).scalar_one_or_none()
    if latest is not None and latest.size >= state.size:
        return latest
    now = datetime.now(timezone.utc).replace(microsecond=0)
    tree_root = merkle.root(state)
    note = signer.sign(Checkpoint(signer.name, state.size, tree_root, now))
    stmt = _insert(session)(LedgerCheckpoint).values(size=state.size, root=tree_root, note=note, signed_at=now)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["size"]))
    await session.commit()
    return (await session.execute(select(LedgerCheckpoint).where(LedgerCheckpoint.size == state.size))).scalar_one()

