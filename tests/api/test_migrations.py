"""Migrations: one head, upgrade from empty, models match the DDL, reversible — on each backend."""

from __future__ import annotations

from typing import Iterator

import pytest
from pytest_alembic import Config
from pytest_alembic.tests import (  # noqa: F401  (collected here as this module's tests)
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from api.db import make_engine
from api.migrate import alembic_config as spotcheck_alembic_config
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
