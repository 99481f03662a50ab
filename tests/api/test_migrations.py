"""Migrations: one head, upgrade from empty, models match the DDL, reversible — on each backend;
and the data migrations, step by step with rows in place."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest
from click.testing import CliRunner
from pytest_alembic import Config
from pytest_alembic.tests import (  # noqa: F401  (collected here as this module's tests)
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from api.db import make_engine
from api.cli import main
from api.migrate import MigrationRefused, alembic_config as spotcheck_alembic_config, upgrade
from tests.conftest import BACKENDS, POSTGRES_URL
from tests.support.databases import create_postgres_database, drop_postgres_database, sqlite_url


@pytest.fixture
def alembic_config() -> Config:
    return Config.from_raw_config(spotcheck_alembic_config())


@pytest.fixture(params=BACKENDS)
def alembic_engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[AsyncEngine]:
    """An empty database of each backend (the session database is already migrated)."""
    if request.param == "sqlite":
        engine = make_engine(sqlite_url(tmp_path / "migrations.db"))
        yield engine
        return
    url = create_postgres_database(POSTGRES_URL, prefix="spotcheck_migrations")
    # pytest-alembic runs each step in a new event loop: no connection may outlive one.
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        yield engine
    finally:
        drop_postgres_database(POSTGRES_URL, url)


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The URL of an empty database of each backend, for migrating step by step with data."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "steps.db")
        return
    url = create_postgres_database(POSTGRES_URL, prefix="spotcheck_migrations")
    try:
        yield url
    finally:
        drop_postgres_database(POSTGRES_URL, url)


def _run(url: str, *statements: tuple[str, dict[str, Any] | list[dict[str, Any]]]) -> list[Any]:
    """Run statements on ``url`` in one transaction; the rows of the last one."""
    async def go() -> list[Any]:
        engine = make_engine(url, pool_size=1)
        try:
            async with engine.begin() as connection:
                rows: list[Any] = []
                for sql, params in statements:
                    result = await connection.execute(text(sql), params)
                    rows = list(result) if result.returns_rows else []
                return rows
        finally:
            await engine.dispose()
    return asyncio.run(go())


_ADD_USER = ("INSERT INTO users (username, role, password_hash, active, token_version, created_at, updated_at) "
             "VALUES (:username, 'chief', 'x', true, 0, :now, :now)")
_NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)


def test_0010_folds_existing_usernames_and_throttle_rows(empty_database):
    upgrade(empty_database, "0009")
    later = _NOW + timedelta(minutes=5)
    _run(empty_database, (_ADD_USER, [{"username": n, "now": _NOW} for n in ("ZhangWei", "li.na")]),
         ("INSERT INTO login_throttle (username, failures, locked_until, last_failure_at) VALUES (:u, :f, :l, :t)",
          [{"u": "ZhangWei", "f": 2, "l": None, "t": _NOW}, {"u": "zhangwei", "f": 5, "l": later, "t": later},
           {"u": "ghost", "f": 1, "l": None, "t": _NOW}]))
    upgrade(empty_database)
    users = _run(empty_database, ("SELECT username, username_key FROM users ORDER BY username", {}))
    assert [tuple(r) for r in users] == [("ZhangWei", "zhangwei"), ("li.na", "li.na")]
    throttle = _run(empty_database, ("SELECT username, failures FROM login_throttle ORDER BY username", {}))
    assert [tuple(r) for r in throttle] == [("ghost", 1), ("zhangwei", 5)]  # merged: the most failures
    with pytest.raises(IntegrityError):
        _run(empty_database, (_ADD_USER.replace(":username, 'chief'", ":username, :key, 'chief'").replace(
            "(username, role", "(username, username_key, role"), {"username": "ZHANGWEI", "key": "zhangwei", "now": _NOW}))


def test_0010_stops_at_accounts_that_fold_together_and_names_them(empty_database, tmp_path):
    upgrade(empty_database, "0009")
    _run(empty_database, (_ADD_USER, [{"username": n, "now": _NOW} for n in ("ZhangWei", "zhangwei", "wangfang", "WangFang", "lina")]))
    with pytest.raises(MigrationRefused) as stopped:
        upgrade(empty_database)
    message = str(stopped.value)
    assert all(repr(n) in message for n in ("ZhangWei", "zhangwei", "wangfang", "WangFang")) and "'lina'" not in message
    # The operator's command says the same, as an error to act on rather than a traceback.
    cli = CliRunner().invoke(main, ["migrate"], env={"SPOTCHECK_DATABASE_URL": empty_database, "SPOTCHECK_DATA_DIR": str(tmp_path)})
    assert cli.exit_code == 1 and "Error: migration 0010: these accounts differ only in case" in cli.output
    assert isinstance(cli.exception, SystemExit) and "Traceback" not in cli.output
    # Nothing changed: still at 0009, the accounts as they were, so the bureau can sort them out.
    assert _run(empty_database, ("SELECT version_num FROM alembic_version", {}))[0][0] == "0009"
    assert len(_run(empty_database, ("SELECT username FROM users", {}))) == 5


_ADD_INSPECTOR = ("INSERT INTO inspectors (username, name, qualifications, active, created_at, updated_at) "
                  "VALUES (:username, 'x', '[]', true, :now, :now)")


def test_0011_folds_inspector_names_and_keeps_their_conflicts(empty_database):
    upgrade(empty_database, "0010")
    _run(empty_database,
         ("INSERT INTO units (code, name, kind, created_at, updated_at) VALUES ('DG', 'u', 'office', :now, :now)", {"now": _NOW}),
         (_ADD_INSPECTOR, [{"username": n, "now": _NOW} for n in ("Insp01", "li.na")]),
         ("INSERT INTO conflicts (inspector, unit_code, reason, declared_by, created_at) VALUES ('Insp01', 'DG', 'kin', 'chief', :now)",
          {"now": _NOW}))
    upgrade(empty_database)
    rows = _run(empty_database, ("SELECT username, username_key FROM inspectors ORDER BY username", {}))
    assert [tuple(r) for r in rows] == [("Insp01", "insp01"), ("li.na", "li.na")]
    # SQLite rebuilding the table would have cascaded its delete to the declared conflicts.
    assert [tuple(r) for r in _run(empty_database, ("SELECT inspector, unit_code FROM conflicts", {}))] == [("Insp01", "DG")]
    with pytest.raises(IntegrityError):
        _run(empty_database, (_ADD_INSPECTOR.replace("(username, name", "(username, username_key, name").replace(
            "(:username, 'x'", "(:username, :key, 'x'"), {"username": "INSP01", "key": "insp01", "now": _NOW}))


def test_0011_stops_at_inspector_records_that_fold_together_and_names_them(empty_database):
    upgrade(empty_database, "0010")
    _run(empty_database, (_ADD_INSPECTOR, [{"username": n, "now": _NOW} for n in ("Insp01", "insp01", "lina")]))
    with pytest.raises(MigrationRefused) as stopped:
        upgrade(empty_database)
    message = str(stopped.value)
    assert "'Insp01'" in message and "'insp01'" in message and "'lina'" not in message
    assert _run(empty_database, ("SELECT version_num FROM alembic_version", {}))[0][0] == "0010"
    assert len(_run(empty_database, ("SELECT username FROM inspectors", {}))) == 3


def test_0012_strips_the_labels_a_draw_refuses(empty_database):
    upgrade(empty_database, "0011")
    add_unit = ("INSERT INTO units (code, name, kind, grid, district, created_at, updated_at) "
                "VALUES (:code, :name, 'office', :grid, :district, :now, :now)")
    _run(empty_database,
         (add_unit, [{"code": "U1", "name": " 某店 ", "grid": " G1", "district": "\u3000滨海片区", "now": _NOW},
                     {"code": "U2", "name": "某所", "grid": "   ", "district": None, "now": _NOW},
                     {"code": "U3", "name": "好所", "grid": "G3", "district": "虎门", "now": _NOW}]),
         ("INSERT INTO inspectors (username, username_key, name, home_grid, qualifications, active, created_at, updated_at) "
          "VALUES ('insp01', 'insp01', '   ', 'G2 ', '[]', true, :now, :now)", {"now": _NOW}))
    upgrade(empty_database)
    units = _run(empty_database, ("SELECT code, name, grid, district, updated_at FROM units ORDER BY code", {}))
    assert [tuple(r)[:4] for r in units] == [("U1", "某店", "G1", "滨海片区"), ("U2", "某所", None, None), ("U3", "好所", "G3", "虎门")]
    stamps = {r[0]: r[4] if isinstance(r[4], datetime) else datetime.fromisoformat(str(r[4])) for r in units}
    assert stamps["U3"].replace(tzinfo=timezone.utc) == _NOW and stamps["U1"].replace(tzinfo=timezone.utc) > _NOW
    inspector = _run(empty_database, ("SELECT name, home_grid FROM inspectors", {}))
    assert [tuple(r) for r in inspector] == [("   ", "G2")]  # a blank name is no draw's business: kept
