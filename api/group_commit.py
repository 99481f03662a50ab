"""Group commit: many small writes share one transaction and one durable commit.

Field phones send thousands of small writes a second. Committing each in its own
transaction costs one fsync (SQLite) or one round trip and WAL flush (PostgreSQL) per
row. Here every worker runs one writer task: callers enqueue an operation and wait; the
writer takes everything queued (up to ``max_batch``), hands each kind's operations to its
batch handler inside one transaction, commits, and only then answers each caller. Under
light load a batch holds one operation and adds no delay; under heavy load batches grow
and the cost per write falls.

Handlers are plain synchronous SQLAlchemy Core code on a ``Connection``. On SQLite a whole
batch runs at once on a synchronous engine (no per-statement hand-offs), and worker
processes take turns through a file lock; on PostgreSQL the same handlers run over asyncpg
through ``AsyncConnection.run_sync`` (both in :mod:`api.group_commit_writers`).

A kind may also have a *preparer*, called as each operation is queued (outside the writer's
turn, which on SQLite holds the database's write lock): it may do the work that needs no
changing state ahead, and leave its result on the operation for the handler.

A handler returns one outcome per operation: a value, or an exception for that operation
alone (validation, conflict), which never affects the others. A value may come as
:class:`Journaled`, carrying rows that describe the change (audit events): the rows of the
whole batch are written by the ``journal`` function in one statement, in the same
transaction, before the commit. If a handler itself fails,
the batch is rolled back and each of its operations is retried alone, so one bad write
cannot sink its neighbours.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from api.db import database_unavailable
from api.group_commit_writers import AsyncWriter, SQLiteWriter
from api.sqlite_wal import WalBackfill

__all__ = ["BatchHandler", "GroupCommit", "Journal", "Journaled"]

log = logging.getLogger("spotcheck.group_commit")

BatchHandler = Callable[[Connection, Sequence[Any]], Sequence[Any]]
"""Applies operations of one kind in the open transaction; returns one outcome each
(a result, or an Exception instance meaning that operation failed)."""


Journal = Callable[[Connection, list[Any]], None]
"""Writes the journal rows of one batch (one multi-row insert) in its transaction."""


@dataclass(frozen=True, slots=True)
class Journaled:
    """An operation's result together with the journal rows describing what it changed."""

    value: Any
    rows: Sequence[Any]


@dataclass
class _Pending:
    kind: str
    operation: Any
    future: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupCommit:
    def __init__(self, engine: AsyncEngine, handlers: dict[str, BatchHandler], *, max_batch: int = 512,
                 journal: Journal | None = None, preparers: dict[str, Callable[[Any], None]] | None = None,
                 wal_backfill_seconds: float = 1.0) -> None:
        self._writer: SQLiteWriter | AsyncWriter = (
            SQLiteWriter(engine, wal_backfill_seconds) if engine.dialect.name == "sqlite" else AsyncWriter(engine))
        self._handlers = handlers
        self._preparers = preparers or {}
        self._journal = journal
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.operations = 0

    @property
    def wal_backfill(self) -> WalBackfill | None:
        """The thread copying SQLite's log into the database file (``None`` on PostgreSQL)."""
        return self._writer.backfill if isinstance(self._writer, SQLiteWriter) else None

    async def start(self) -> None:
        self._writer.start()
        self._task = asyncio.create_task(self._run(), name="group-commit-writer")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None
        await self._writer.close()
        if self.batches:
            log.warning("group commit: %d operations in %d batches (%.1f per batch)",
                        self.operations, self.batches, self.operations / self.batches)

    async def submit(self, kind: str, operation: Any) -> Any:
        """Queue ``operation`` for the ``kind`` handler; return its outcome once committed."""
        if self._task is None or self._task.done():
            raise RuntimeError("the group-commit writer is not running")
        prepare = self._preparers.get(kind)
        if prepare is not None:
            try:
                prepare(operation)
            except Exception:  # a bug there must not cost the write: the handler works it all out
                log.exception("preparing a %s operation failed; it is worked out in the writer's turn", kind)
        pending = _Pending(kind, operation)
        self._queue.put_nowait(pending)
        return await pending.future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            try:
                async with self._writer.turn():
                    # Taken once it is this worker's turn: what queued up while another worker
                    # wrote joins this batch, so busy workers share fewer, larger commits.
                    while len(batch) < self._max_batch and not self._queue.empty():
                        batch.append(self._queue.get_nowait())
                    await self._apply(batch)
            except Exception as exc:  # the writer must survive anything one batch does
                if database_unavailable(exc):  # expected while it restarts: no trace, each caller gets a 503
                    log.warning("group commit: database unavailable (%s); %d operations refused",
                                type(exc).__name__, len(batch))
                else:
                    log.exception("group commit failed for %d operations", len(batch))
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _apply(self, batch: list[_Pending]) -> None:
        try:
            outcomes = await self._writer.run(lambda connection: self._transaction(connection, batch))
        except Exception as exc:
            if len(batch) == 1 or database_unavailable(exc):  # alone, they would fail the same way
                raise
            log.warning("batch of %d failed; retrying its operations one by one", len(batch))
            for pending in batch:
                try:
                    [outcome] = await self._writer.run(lambda connection, one=pending: self._transaction(connection, [one]))
                except Exception as exc:
                    outcome = exc
                self._settle(pending, outcome)
            return
        for pending, outcome in zip(batch, outcomes):
            self._settle(pending, outcome)
        self.batches += 1
        self.operations += len(batch)

    def _transaction(self, connection: Connection, batch: list[_Pending]) -> list[Any]:
        by_kind: dict[str, list[int]] = defaultdict(list)
        for index, pending in enumerate(batch):
            by_kind[pending.kind].append(index)
        outcomes: list[Any] = [None] * len(batch)
        journal: list[Any] = []
        for kind, indexes in by_kind.items():
            results = self._handlers[kind](connection, [batch[i].operation for i in indexes])
            if len(results) != len(indexes):
                raise RuntimeError(f"handler {kind!r} returned {len(results)} outcomes for {len(indexes)} operations")
            for i, result in zip(indexes, results):
                if isinstance(result, Journaled):
                    journal.extend(result.rows)
                    result = result.value
                outcomes[i] = result
        if journal:
            if self._journal is None:
                raise RuntimeError("a handler returned journal rows, but the writer has no journal")
            self._journal(connection, journal)
        return outcomes

    @staticmethod
    def _settle(pending: _Pending, outcome: Any) -> None:
        if pending.future.done():  # the caller went away (client disconnected)
            return
        if isinstance(outcome, BaseException):
            pending.future.set_exception(outcome)
        else:
            pending.future.set_result(outcome)
