"""Lean multi-row inserts for the group-commit writer's hot path.

SQLAlchemy's Core insert runs a bind processor for every value of every row (UUIDs to hex,
datetimes to text, JSON to text) through several layers of generic machinery: at thousands
of findings a second, with three rows of about twenty values each, that machinery cost more
CPU than everything else the writer does. Here each table's statement is built once and
each column has one converter (fast ones for the column types of the hot tables on SQLite,
SQLAlchemy's own bind processor otherwise); the statement runs through ``exec_driver_sql``,
so transactions, events and error wrapping stay SQLAlchemy's.

- SQLite (:class:`SQLiteInsert`): one plain ``INSERT`` run by the driver's ``executemany``.
- PostgreSQL (:class:`PostgresInsert`): one ``INSERT … SELECT … FROM unnest(…)`` with an
  array per column. Its text does not depend on the number of rows, so asyncpg prepares it
  once, where a multi-row ``VALUES`` list is a new statement for every batch size.

The values stored are exactly what SQLAlchemy's insert stores (tests/api/test_bulk_insert.py
compares them on both databases), so the ORM reads these rows like any other.
:func:`insert_rows` and :func:`insert_new` choose the way by the connection's dialect.
"""

from __future__ import annotations

import functools
import operator
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy import JSON, Connection, Table, Uuid
from sqlalchemy.engine import Dialect

from api.db import UTCDateTime, json_text

__all__ = ["PostgresInsert", "SQLiteInsert", "insert_new", "insert_rows"]

Encoder = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _uuid_hex(value: Any) -> Any:
    return None if value is None else value.hex


class _UTCText:
    """UTCDateTime.process_bind_param, then SQLite's DATETIME storage format. Remembers the
    last value: the rows of one batch share their ``now`` (created, updated, audit time)."""

    __slots__ = ("memo",)

    def __init__(self) -> None:
        # One tuple, replaced whole: a reader in another thread never pairs a value with
        # another value's text.
        self.memo: tuple[datetime | None, str | None] = (None, None)

    def __call__(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        memo = self.memo
        if value is memo[0]:  # the object is held here, so its id cannot be reused
            return memo[1]
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        text = value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")
        self.memo = (value, text)
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
        id_encoder = _encoder(table.c.id, dialect) if "id" in table.c else None
        self._encode_id: Encoder = id_encoder or _same
        self._stored_sql = f"SELECT id FROM {quote(table.name)} WHERE id IN (SELECT value FROM json_each(?))"
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

    def stored_ids(self, connection: Connection, ids: Sequence[Any]) -> set[Any]:
        """Which of ``ids`` are stored already. The ids travel as one JSON array, so the
        statement text is the same for any number of them and is never compiled again."""
        keys = {self._encode_id(value): value for value in ids}
        found = connection.exec_driver_sql(self._stored_sql, (json_text(list(keys)),)).all()
        return {keys[key] for key, in found}


class PostgresInsert:
    """``INSERT INTO table (columns) SELECT … FROM unnest($1::type[], …)`` for rows given as
    mappings: the rows travel as one array per column, in one statement whose text is the
    same for any number of rows. Rows keep their order (``WITH ORDINALITY``), so serial ids
    are given in the order of ``rows``.

    Every row must give every one of ``columns``. With ``skip_conflicts``, a row that would
    break a unique constraint is skipped, and :meth:`insert` returns the ids stored."""

    def __init__(self, table: Table, columns: Sequence[str], dialect: Dialect, *, skip_conflicts: bool = False) -> None:
        self.columns = tuple(columns)
        quote = dialect.identifier_preparer.quote
        names = ", ".join(quote(name) for name in self.columns)
        arrays = ", ".join(f"${i}::{table.c[name].type.compile(dialect=dialect)}[]" for i, name in enumerate(self.columns, 1))
        self.sql = (f"INSERT INTO {quote(table.name)} ({names}) SELECT {names} FROM unnest({arrays}) "
                    f"WITH ORDINALITY AS given({names}, row_number) ORDER BY row_number"
                    + (" ON CONFLICT DO NOTHING RETURNING id" if skip_conflicts else ""))
        self._encoders = [(name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in self.columns]

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> tuple[list[Any], ...]:
        return tuple([row[name] for row in rows] if encode is None else [encode(row[name]) for row in rows]
                     for name, encode in self._encoders)

    def insert(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> Any:
        """Insert ``rows`` in one statement; with ``skip_conflicts``, the set of ids stored."""
        result = connection.exec_driver_sql(self.sql, self.parameters(rows))
        return set(result.scalars()) if self.sql.endswith("RETURNING id") else None


# Built once per table and column set: the hot path then skips building statements.
@functools.lru_cache(maxsize=64)
def _statement(table: Table, columns: tuple[str, ...], dialect: Dialect, skip_conflicts: bool) -> SQLiteInsert | PostgresInsert:
    kind = SQLiteInsert if dialect.name == "sqlite" else PostgresInsert
    return kind(table, columns, dialect, skip_conflicts=skip_conflicts)


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (mappings with the same keys) in one statement."""
    if rows:
        _statement(table, tuple(rows[0]), connection.dialect, False).insert(connection, rows)


def insert_new(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> set[Any]:
    """Insert the rows whose ``id`` is not stored yet; return the ids stored now.

    A second worker racing on an id cannot store it twice: on PostgreSQL the insert skips
    conflicting rows (``ON CONFLICT DO NOTHING RETURNING id``); on SQLite the batch holds the
    database's write lock, so the ids read before the insert are still the stored ones (and a
    stale read fails the transaction rather than doubling a row).
    """
    if not rows:
        return set()
    statement = _statement(table, tuple(rows[0]), connection.dialect, True)
    if isinstance(statement, PostgresInsert):
        return statement.insert(connection, rows)  # type: ignore[no-any-return]
    stored = statement.stored_ids(connection, [row["id"] for row in rows])
    fresh = [row for row in rows if row["id"] not in stored]
    if statement.insert(connection, fresh) != len(fresh):
        # Only another unique key can clash here, which the handlers' checks rule out.
        raise RuntimeError(f"{table.name}: a new row clashed on a unique key other than its id")
    return {row["id"] for row in fresh}
