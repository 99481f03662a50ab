"""Engine and session factory; the same code serves SQLite (aiosqlite, WAL) and PostgreSQL."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timezone
from typing import Any

import msgspec
from sqlalchemy import JSON, ColumnElement, DateTime, MetaData, event, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

__all__ = ["Base", "JSONType", "UTCDateTime", "database_unavailable", "make_engine", "make_sessionmaker",
           "sqlite_pragmas", "sqlite_write_lock", "utcnow"]

# Stable constraint names keep Alembic autogenerate and both dialects in step.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def json_text(value: Any) -> str:
    """The engines' JSON serializer (msgspec: several times faster than ``json.dumps``; Chinese
    text is stored as UTF-8, not as ``\\u`` escapes)."""
    return msgspec.json.encode(value).decode()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; busy_timeout makes concurrent workers
    # wait for the write lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # FULL: a commit is on disk before it is acknowledged; group commit amortises the fsync.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def _create_private(database: str | None) -> None:
    """Create a new SQLite database file readable by its owner only (it holds password hashes
    and people's records). SQLite would create it with the umask's mode (usually 0644), and its
    ``-wal`` and ``-shm`` files take the database file's mode, so creating it first is enough.
    An existing file is left as it is."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:  # there already, or not creatable: SQLite itself reports the latter on connect
        pass


def make_engine(url: str, *, pool_size: int = 10, timeout: float = 10.0) -> AsyncEngine:
    """Create the async engine for ``url`` with the pragmas/pool each backend needs.

    On PostgreSQL, ``timeout`` bounds both opening a connection (a server that accepts but
    never answers, a black-holed host) and waiting for a free one from the pool, so that a
    request meets a 503 instead of hanging while the database is away. Every connection is
    pinged when taken from the pool: one cut by a database restart is replaced, not used.
    """
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 15}, json_serializer=json_text)
        _create_private(engine.url.database)
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        pool_timeout=timeout,
        connect_args={"timeout": timeout},
        json_serializer=json_text,
    )


async def sqlite_write_lock(session: AsyncSession, model: type[Base], *where: ColumnElement[bool]) -> None:
    """On SQLite, take the database's write lock now, before the transaction reads what it
    decides on; on PostgreSQL do nothing (the caller's ``FOR UPDATE`` locks the rows there).

    SQLite ignores ``FOR UPDATE``, and the driver begins a transaction only at its first
    write, so reads before it see whatever was committed then and a concurrent writer may
    commit in between: a check made on them can be stale by the time this transaction writes
    (a lost update). A no-op ``UPDATE`` of ``model``'s rows matching ``where`` as the first
    write waits for the lock (``busy_timeout``) and holds it until the transaction ends, so the
    reads after it see the latest commit and nothing else commits meanwhile. It changes no
    value: key columns and ``onupdate`` columns (``updated_at``) are set to themselves.
    Call it before the transaction's first write, and read again after it what was read
    before (``populate_existing``): that may be stale."""
    if session.get_bind().dialect.name != "sqlite":
        return
    table = model.__table__
    keep = {c.name: c for c in table.columns if c.primary_key or c.onupdate is not None}  # type: ignore[attr-defined]
    await session.execute(update(table).where(*where).values(keep))


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


# SQLSTATEs that mean "the server cannot serve now", not "this statement is wrong": class 08
# (connection exceptions), 57P01-57P03 (shut down by an admin, after a crash, or "the
# database system is starting up / shutting down"), 53300 (too many connections).
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is out of reach for the moment (answer 503, retry),
    as opposed to a statement it refused."""
    # Raw socket errors escape SQLAlchemy when a connection cannot even be opened: refused,
    # reset, the host name not resolving (gaierror), no answer within the connect timeout.
    if isinstance(exc, (PoolTimeout, ConnectionError, socket.gaierror, TimeoutError)):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, OperationalError):
        return True
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return isinstance(state, str) and state.startswith(_UNAVAILABLE_STATES)
