"""The two ways :class:`api.group_commit.GroupCommit` runs a batch: on SQLite, a synchronous
connection in the event-loop thread with the worker processes taking turns; on PostgreSQL,
one asyncpg connection kept for the writer's life. Both offer ``start``, ``turn`` (this
worker's turn to write), ``run`` (a batch in one committed transaction) and ``close``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from typing import Any, AsyncIterator, Callable

import anyio
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.db import database_unavailable, json_text, sqlite_pragmas
from api.sqlite_wal import WalBackfill

__all__ = ["AsyncWriter", "SQLiteWriter", "WAL_SIZE_LIMIT"]


class SQLiteWriter:
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
    cursor.execute(f"PRAGMA busy_timeout={int(SQLiteWriter.LOOP_BUSY_TIMEOUT * 1000)}")
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


class AsyncWriter:
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
