"""The lean inserts store exactly what SQLAlchemy's insert stores (raw values on SQLite, read back on
both databases)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, Table, create_engine, insert, literal_column, select
from sqlalchemy.exc import IntegrityError

from api.bulk_insert import SQLiteInsert, insert_new, insert_rows
from api.db import Base, json_text, make_engine
from api.field_common import DEDUCTIONS, FINDINGS
from api.models_review import AuditEvent

AUDIT = AuditEvent.__table__
BEIJING = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 21, 9, 30, 5, 120, tzinfo=BEIJING)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'rows.db'}", json_serializer=json_text)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def finding(**changes: Any) -> dict[str, Any]:
    row = {"id": uuid.uuid4(), "task_id": uuid.uuid4(), "inspector": "insp01", "indicator": "inspection.window_conduct",
           "count": 2, "quantity": 1.5, "level": "较重", "achievement": None, "note": "窗口人员离岗\n“引号”",
           "case_file": None, "staff": ["李思", "王五"], "evidence_ids": [str(uuid.uuid4())],
           "recorded_at": NOW, "supersedes": None, "superseded_by": None, "deduction_id": uuid.uuid4(),
           "charged_unit": "DG-HONGMEI", "body_sha256": "ab" * 32, "created_at": NOW.astimezone(timezone.utc),
           "updated_at": NOW + timedelta(microseconds=1)}
    return {**row, **changes}


def deduction(**changes: Any) -> dict[str, Any]:
    row = {"id": uuid.uuid4(), "period_code": "2026-H2", "unit_code": "DG-HONGMEI", "indicator": "x.y", "count": 1,
           "quantity": None, "level": None, "achievement": "达标", "points": 0.5, "effect": "deduct", "staff": [],
           "failed_to_deduct_by": None, "status": "proposed", "adjusted_points": None, "finding_id": uuid.uuid4(),
           "created_by": "insp01", "created_at": NOW, "updated_at": NOW}
    return {**row, **changes}


def audit_row(**changes: Any) -> dict[str, Any]:
    row = {"at": NOW, "actor": "insp01", "action": "finding.created", "object_type": "finding",
           "object_id": str(uuid.uuid4()), "before": None, "after": {"note": "压力测试", "points": 1.0, "staff": ["李思"]},
           "request_id": None}
    return {**row, **changes}


def stored(engine: Engine, table: Table, skip: str) -> list[tuple[Any, ...]]:
    """Each row's raw stored values (as SQLite holds them), without the column ``skip``."""
    names = [c.name for c in table.columns if c.name != skip]
    with engine.connect() as connection:
        return [tuple(r) for r in connection.exec_driver_sql(
            f'SELECT {", ".join(chr(34) + n + chr(34) for n in names)} FROM {table.name} ORDER BY rowid').all()]


@pytest.mark.parametrize(("table", "make", "variant"), [
    (FINDINGS, finding, {"staff": [], "note": "", "quantity": None, "superseded_by": uuid.uuid4(),
                        "recorded_at": NOW.replace(microsecond=0)}),
    (DEDUCTIONS, deduction, {"status": "adjusted", "adjusted_points": 0.25, "effect": "veto",
                          "created_at": datetime(999, 1, 2, tzinfo=timezone.utc)}),
    (AUDIT, audit_row, {"before": {"a": None}, "after": None, "request_id": "req-1",
                        "at": NOW.replace(microsecond=0)}),
], ids=["findings", "deductions", "audit_events"])
def test_stored_values_equal_sqlalchemys(engine: Engine, table: Table, make: Any, variant: dict[str, Any]) -> None:
    rows = [make(), make(**variant)]
    lean = [{**r, "id": uuid.uuid4()} if "id" in r else r for r in rows]
    with engine.begin() as connection:
        connection.execute(insert(table), rows)
    with engine.begin() as connection:
        assert SQLiteInsert(table, list(lean[0]), connection.dialect).insert(connection, lean) == len(rows)
    values = stored(engine, table, "id")
    assert len(values) == 2 * len(rows)
    assert values[:len(rows)] == values[len(rows):]
    # And SQLAlchemy's types read the lean rows back as they were given.
    with engine.connect() as connection:
        back = connection.execute(select(table).order_by(literal_column("rowid"))).mappings().all()[len(rows):]
    for given, read in zip(lean, back):
        for name, value in given.items():
            assert read[name] == (value.astimezone(timezone.utc) if isinstance(value, datetime) else value), name


def test_naive_datetimes_are_refused_as_by_the_orm(engine: Engine) -> None:
    with engine.begin() as connection, pytest.raises(ValueError, match="naive"):
        insert_rows(connection, AUDIT, [audit_row(at=datetime(2026, 11, 21, 9, 30))])


def test_skipping_conflicts_skips_only_duplicate_keys(engine: Engine) -> None:
    first, second = finding(), finding()
    with engine.begin() as connection:
        assert insert_new(connection, FINDINGS, [first]) == {first["id"]}
        # The stored id is skipped, the new one stored, within one call.
        assert insert_new(connection, FINDINGS, [{**first, "note": "改"}, second]) == {second["id"]}
    with engine.begin() as connection:
        # A missing required value still fails: ON CONFLICT DO NOTHING, not INSERT OR IGNORE.
        with pytest.raises(IntegrityError):
            insert_new(connection, FINDINGS, [finding(inspector=None)])
    with engine.connect() as connection:
        notes = dict(connection.execute(select(FINDINGS.c.id, FINDINGS.c.note)).all())
    assert notes == {first["id"]: first["note"], second["id"]: second["note"]}


async def _unchecked_keys(connection: Any) -> None:
    # The rows name tasks, periods and units that do not exist; all is rolled back. (SQLite
    # has begun no transaction yet: the driver opens it at the first write.)
    await connection.exec_driver_sql("PRAGMA foreign_keys = OFF" if connection.dialect.name == "sqlite"
                                     else "SET LOCAL session_replication_role = replica")


def _without_id(row: Any) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "id"}


@pytest.mark.parametrize(("table", "make", "variant"), [
    (FINDINGS, finding, {"staff": [], "note": "", "quantity": None, "superseded_by": uuid.uuid4()}),
    (DEDUCTIONS, deduction, {"status": "adjusted", "adjusted_points": 0.25, "effect": "veto"}),
    (AUDIT, audit_row, {"before": {"a": None, "名": [1, 2.5]}, "after": None, "request_id": "req-1"}),
], ids=["findings", "deductions", "audit_events"])
async def test_rows_read_back_as_sqlalchemys_on_each_database(database_url: str, db: Any, table: Table, make: Any,
                                                              variant: dict[str, Any]) -> None:
    rows = [make(), make(**variant), make(recorded_at=NOW.replace(microsecond=0)) if table is FINDINGS else make()]
    lean = [{**r, "id": uuid.uuid4()} if "id" in r else r for r in rows]
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            await _unchecked_keys(connection)
            await connection.execute(insert(table), rows)
            await connection.run_sync(lambda sync: insert_rows(sync, table, lean))
            read = (await connection.execute(select(table).order_by(table.c.id))).mappings().all()
            await transaction.rollback()
    finally:
        await engine.dispose()
    assert len(read) == 2 * len(rows)
    if "id" in rows[0]:
        by_id = {r["id"]: r for r in read}
        pairs = [(by_id[a["id"]], by_id[b["id"]]) for a, b in zip(rows, lean)]
    else:  # serial ids: the lean rows come after SQLAlchemy's, in the order given
        pairs = list(zip(read[:len(rows)], read[len(rows):]))
    for ours, theirs in pairs:
        assert _without_id(ours) == _without_id(theirs)
    assert [p[1]["before"] if table is AUDIT else p[1]["staff"] for p in pairs] == \
        [r["before"] if table is AUDIT else r["staff"] for r in lean]


async def test_insert_new_returns_only_the_ids_it_stored(database_url: str, db: Any) -> None:
    first, second = finding(), finding()
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            await _unchecked_keys(connection)
            assert await connection.run_sync(lambda sync: insert_new(sync, FINDINGS, [first])) == {first["id"]}
            again = await connection.run_sync(lambda sync: insert_new(sync, FINDINGS, [{**first, "note": "改"}, second]))
            notes = dict((await connection.execute(select(FINDINGS.c.id, FINDINGS.c.note))).all())
            await transaction.rollback()
    finally:
        await engine.dispose()
    assert again == {second["id"]}
    assert notes == {first["id"]: first["note"], second["id"]: second["note"]}
