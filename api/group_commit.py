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
through ``AsyncConnection.run_sync``.

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
import contextlib
import fcntl
import logging
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Sequence

import anyio
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.db import database_unavailable, json_text, sqlite_pragmas
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


class _SQLiteWriter:
    """Runs a batch on a synchronous connection, one worker process at a time.

    The batch runs in the event-loop thread: its SQLite calls take a few milliseconds, and
    running them in a helper thread costs more, because that thread must win the GIL back
    from the busy event loop after every call. Two guards keep the loop from stalling:
    worker processes take turns through an ``flock`` (waited for in a thread when another
    worker holds it), and the connection waits at most ``LOOP_BUSY_TIMEOUT`` for SQLite's own
    lock (held by some other writer, e.g. an import); past that, the batch runs in a thread.
    Its commits never copy the write-ahead log into the database file: a :class:`WalBackfill`
    thread does, every ``wal_backfill_seconds``.
    """

    LOOP_BUSY_TIMEOUT = 0.05

    def __init__(self, engine: AsyncEngine, wal_backfill_seconds: float) -> None:
        url = engine.url.set(drivername="sqlite")
        self.engine: Engine = create_engine(url, connect_args={"timeout": self.LOOP_BUSY_TIMEOUT, "check_same_thread": False},
                                            pool_size=1, max_overflow=0, json_serializer=json_text)
        event.listen(self.engine, "connect", sqlite_pragmas)
        event.listen(self.engine, "connect", _writer_pragmas)
        event.listen(self.engine, "begin", _begin_immediate)
        lock = f"{url.database}.writelock"
        self._lock_fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        self._connection: Connection | None = None
        self._busy_ms: int | None = None
        self.backfill = WalBackfill(str(url.database), wal_backfill_seconds, sqlite_pragmas, turn_lock=lock)

    def start(self) -> None:
        self.backfill.start()

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """This worker's turn to write (the other workers' writers wait)."""
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            await anyio.to_thread.run_sync(fcntl.flock, self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    async def run(self, work: Callable[[Connection], list[Any]]) -> list[Any]:
        """Run ``work`` in one transaction and commit it; call it during a :meth:`turn`."""
        try:
            return self._transaction(work, busy_ms=int(self.LOOP_BUSY_TIMEOUT * 1000))
        except OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        return await anyio.to_thread.run_sync(self._transaction, work, 15_000)

    def _transaction(self, work: Callable[[Connection], list[Any]], busy_ms: int) -> list[Any]:
        # One connection for the writer's life: checking a pooled one out and in (and the
        # pool's rollback on return) for every batch cost as much as a batch's own reads.
        if self._connection is None or self._connection.invalidated:
            self._drop_connection()
            self._connection, self._busy_ms = self.engine.connect(), None
        connection = self._connection
        try:
            if busy_ms != self._busy_ms:
                # Before BEGIN IMMEDIATE (the "begin" listener), which is what waits for the lock.
                connection.connection.driver_connection.execute(f"PRAGMA busy_timeout={busy_ms}")
                self._busy_ms = busy_ms
            with connection.begin():
                return work(connection)
        except BaseException:
            if not _clean(connection):  # e.g. a failed COMMIT whose ROLLBACK failed too
                self._drop_connection()
            raise

    def _drop_connection(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            with contextlib.suppress(Exception):
                connection.close()

    async def close(self) -> None:
        await anyio.to_thread.run_sync(self.backfill.close)  # a run under way may take a moment
        self._drop_connection()
        self.engine.dispose()
        os.close(self._lock_fd)


def _clean(connection: Connection) -> bool:
    """Whether a connection is fit for the next batch: usable and outside any transaction."""
    try:
        return not (connection.invalidated or connection.in_transaction()
                    or connection.connection.driver_connection.in_transaction)
    except Exception:
        return False


WAL_SIZE_LIMIT = 256 << 20
"""Bytes of ``-wal`` file kept when the log starts over (SQLite truncates it to this), so the
file shrinks back after a burst. Above a second of log at full load (about 100 MB at 4,000
findings/s): truncating and growing it again every second cost more than the writes."""


def _writer_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(_SQLiteWriter.LOOP_BUSY_TIMEOUT * 1000)}")
    cursor.execute("PRAGMA wal_autocheckpoint=0")  # WalBackfill's thread copies the log instead
    cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")  # the file shrinks back after a burst
    cursor.close()
    dbapi_connection.isolation_level = None  # the driver's own deferred BEGIN: replaced below


def _begin_immediate(connection: Connection) -> None:
    # A batch reads (task and period state) before it writes. A deferred transaction that
    # finds another writer active when it first writes fails at once with SQLITE_BUSY (the
    # busy timeout does not apply to that upgrade), and what it read may already be stale:
    # taking the write lock up front waits for the other writer and reads after it.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class _AsyncWriter:
    """Runs a batch over asyncpg on one connection kept for the writer's life.

    Taking a pooled connection for every batch cost a ping (the pool checks each connection
    it hands out), a checkout and a check-in: about a tenth of the CPU per finding at full
    load. A connection that breaks, or is left inside a transaction, is replaced, and so is
    one idle for ``IDLE_SECONDS`` (a firewall may have dropped it without a word) or older
    than ``MAX_AGE_SECONDS`` (as the pool recycles its own). A batch that finds the database
    gone on a connection kept from before (a restart cut it) runs once more on a new one, as
    the pool's ping would have caught it; never once its COMMIT was sent, since whether that
    landed is unknown and a handler need not be idempotent: its callers get the error.
    """

    IDLE_SECONDS = 30.0
    MAX_AGE_SECONDS = 1800.0

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._connection: AsyncConnection | None = None
        self._opened = self._used = 0.0

    def start(self) -> None:
        pass

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        yield  # PostgreSQL's row locks order concurrent writers (api.field_common.task_state)

    async def run(self, work: Callable[[Connection], list[Any]]) -> list[Any]:
        kept = await self._current() is not None
        try:
            connection, transaction, results = await self._work(work)
        except Exception as exc:
            if not (kept and database_unavailable(exc)):
                raise
            connection, transaction, results = await self._work(work)  # once more, on a new connection
        try:
            await transaction.commit()
        except BaseException:
            await self._after_failure(connection)
            raise
        self._used = time.monotonic()
        return results

    async def _work(self, work: Callable[[Connection], list[Any]]) -> tuple[AsyncConnection, Any, list[Any]]:
        """The batch's statements in a new transaction, not yet committed."""
        connection = self._connection or await self._connect()
        try:
            transaction = await connection.begin()
            return connection, transaction, await connection.run_sync(work)
        except BaseException:
            await self._after_failure(connection)
            raise

    async def _current(self) -> AsyncConnection | None:
        now = time.monotonic()
        if self._connection is not None and (now - self._used > self.IDLE_SECONDS
                                             or now - self._opened > self.MAX_AGE_SECONDS):
            await self.close()
        return self._connection

    async def _connect(self) -> AsyncConnection:
        self._connection = await self.engine.connect()
        self._opened = self._used = time.monotonic()
        return self._connection

    async def _after_failure(self, connection: AsyncConnection) -> None:
        # A transaction whose COMMIT failed is inactive but still begun: roll it back to end it.
        with contextlib.suppress(Exception):
            if (transaction := connection.get_transaction()) is not None:
                await transaction.rollback()
        if connection.invalidated or connection.get_transaction() is not None:
            await self.close()

    async def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            with contextlib.suppress(Exception):
                await connection.close()


class GroupCommit:
    def __init__(self, engine: AsyncEngine, handlers: dict[str, BatchHandler], *, max_batch: int = 512,
                 journal: Journal | None = None, preparers: dict[str, Callable[[Any], None]] | None = None,
                 wal_backfill_seconds: float = 1.0) -> None:
        self._writer = (_SQLiteWriter(engine, wal_backfill_seconds) if engine.dialect.name == "sqlite"
                        else _AsyncWriter(engine))
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
        return getattr(self._writer, "backfill", None)

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
