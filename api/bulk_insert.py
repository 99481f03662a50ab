"""Multi-row inserts for the group-commit writer's hot path, lean on SQLite.

SQLAlchemy's Core insert runs a bind processor for every value of every row (UUIDs to hex,
datetimes to text, JSON to text) through several layers of generic machinery: at thousands
of findings a second, with three rows of about twenty values each, that machinery cost more
CPU than everything else the writer does. :class:`SQLiteRows` builds one plain
``INSERT`` per table once, turns each row into a tuple with a converter per column (fast
ones for the column types of the hot tables, SQLAlchemy's own bind processor for any other),
and hands the whole batch to the driver's ``executemany`` through ``exec_driver_sql``, so
transactions, events and error wrapping stay SQLAlchemy's.

The values stored are exactly what SQLAlchemy's insert stores (tests/api/test_sqlite_rows.py
compares them), so the ORM reads these rows like any other. PostgreSQL keeps SQLAlchemy's
insert: the cost there is the round trip, not the processing.

:func:`insert_rows` and :func:`insert_new` choose the way by the connection's dialect.
"""

from __future__ import annotations

import functools
import operator
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy import JSON, Connection, Table, Uuid, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from api.db import UTCDateTime, json_text

__all__ = ["SQLiteInsert", "insert_new", "insert_rows"]

Encoder = Callable[[Any], Any]


def _uuid_hex(value: Any) -> Any:
    return None if value is None else value.hex


class _UTCText:
    """UTCDateTime.process_bind_param, then SQLite's DATETIME storage format. Remembers the
    last value: the rows of one batch share their ``now`` (created, updated, audit time)."""

    __slots__ = ("last", "text")

    def __init__(self) -> None:
        self.last: datetime | None = None
        self.text: str | None = None

    def __call__(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        if value is self.last:  # the object is held here, so its id cannot be reused
            return self.text
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        text = value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")
        self.last, self.text = value, text
        return text


def _encoder(column: Any, dialect: Dialect) -> Encoder | None:
    kind = column.type
    if isinstance(kind, Uuid) and kind.as_uuid:
        return _uuid_hex
    if isinstance(kind, UTCDateTime):
        return _UTCText()
    implementation = kind.dialect_impl(dialect)
    if isinstance(implementation, JSON) and not implementation.none_as_null:
        return json_text  # the engines' json_serializer: None is stored as JSON null, as SQLAlchemy does
    return implementation.bind_processor(dialect)  # anything else: SQLAlchemy's own conversion (None: as is)


class SQLiteInsert:
    """``INSERT INTO table (columns) VALUES (?, …)`` for rows given as mappings.

    Every row must give every one of ``columns`` (no Python-side defaults are applied).
    With ``skip_conflicts``, a row that would break a unique constraint is skipped (``ON
    CONFLICT DO NOTHING``; unlike ``INSERT OR IGNORE``, a NOT NULL or CHECK violation still
    fails)."""

    def __init__(self, table: Table, columns: Sequence[str], dialect: Dialect, *, skip_conflicts: bool = False) -> None:
        self.columns = tuple(columns)
        self.table = table
        quote = dialect.identifier_preparer.quote
        names = ", ".join(quote(name) for name in self.columns)
        self.sql = (f"INSERT INTO {quote(table.name)} ({names}) VALUES ({', '.join('?' * len(self.columns))})"
                    + (" ON CONFLICT DO NOTHING" if skip_conflicts else ""))
        self._values = operator.itemgetter(*self.columns)
        encoders = [_encoder(table.c[name], dialect) for name in self.columns]
        self._encoders = [(index, encode) for index, encode in enumerate(encoders) if encode is not None]

    def encode(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        values = list(self._values(row)) if len(self.columns) > 1 else [row[self.columns[0]]]
        for index, encode in self._encoders:
            values[index] = encode(values[index])
        return tuple(values)

    def insert(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert ``rows`` (one ``executemany``); the number of rows stored."""
        if not rows:
            return 0
        return connection.exec_driver_sql(self.sql, [self.encode(row) for row in rows]).rowcount


# Built once per table and column set: the hot path then skips building statements.
@functools.lru_cache(maxsize=64)
def _sqlite(table: Table, columns: tuple[str, ...], dialect: Dialect, skip_conflicts: bool) -> SQLiteInsert:
    return SQLiteInsert(table, columns, dialect, skip_conflicts=skip_conflicts)


@functools.cache
def _insert(table: Table) -> Any:
    return insert(table)


@functools.cache
def _insert_or_skip(table: Table) -> Any:
    return postgresql.insert(table).on_conflict_do_nothing().returning(table.c.id)


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (mappings with the same keys) in one statement."""
    if not rows:
        return
    if connection.dialect.name == "sqlite":
        _sqlite(table, tuple(rows[0]), connection.dialect, False).insert(connection, rows)
    else:
        connection.execute(_insert(table), list(rows))


def insert_new(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> set[Any]:
    """Insert the rows whose ``id`` is not stored yet; return the ids stored now.

    A second worker racing on an id cannot store it twice: on PostgreSQL the insert skips
    conflicting rows (``ON CONFLICT DO NOTHING RETURNING id``); on SQLite the batch holds the
    database's write lock, so the ids read before the insert are still the stored ones (and a
    stale read fails the transaction rather than doubling a row).
    """
    if not rows:
        return set()
    if connection.dialect.name != "sqlite":
        return set(connection.execute(_insert_or_skip(table), list(rows)).scalars())
    stored = set(connection.execute(select(table.c.id).where(table.c.id.in_([row["id"] for row in rows]))).scalars())
    fresh = [row for row in rows if row["id"] not in stored]
    if _sqlite(table, tuple(rows[0]), connection.dialect, True).insert(connection, fresh) != len(fresh):
        # Only another unique key can clash here, which the handlers' checks rule out.
        raise RuntimeError(f"{table.name}: a new row clashed on a unique key other than its id")
    return {row["id"] for row in fresh}
