"""Shared fixtures. Database tests run on SQLite always and on PostgreSQL as well when
SPOTCHECK_TEST_POSTGRES_URL is set (CI sets it; an unreachable server fails the run)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import AsyncIterator, Iterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import delete, update

from api.app import create_app
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.db import Base, make_engine, make_sessionmaker
from api.migrate import upgrade
from api.settings import Settings
from tests.support.databases import create_postgres_database, drop_postgres_database, sqlite_url
from tests.support.demo_template import TEMPLATES_ENV, drop_templates

POSTGRES_URL = os.environ.get("SPOTCHECK_TEST_POSTGRES_URL", "").strip()
BACKENDS = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


_TEMPLATES = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    # The controlling process (not an xdist worker) makes the folder of the run's demo
    # templates; the workers it starts inherit the variable (tests/support/demo_template.py).
    if not hasattr(config, "workerinput") and TEMPLATES_ENV not in os.environ:
        root = Path(tempfile.mkdtemp(prefix="spotcheck-templates-"))
        os.environ[TEMPLATES_ENV] = str(root)
        config.stash[_TEMPLATES] = root


def pytest_unconfigure(config: pytest.Config) -> None:
    root = config.stash.get(_TEMPLATES, None)
    if root is not None:
        drop_templates(root, POSTGRES_URL)
        os.environ.pop(TEMPLATES_ENV, None)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database per backend, shared by the session; tests empty it first."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path_factory.mktemp("sqlite") / "spotcheck.db")
        upgrade(url)
        yield url
        return
    url = create_postgres_database(POSTGRES_URL)
    try:
        upgrade(url)
        yield url
    finally:
        drop_postgres_database(POSTGRES_URL, url)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=str(tmp_path / "data"), database_url=database_url, secret_key=TEST_SECRET,
                    login_max_failures=3, login_lockout_seconds=30)


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions for the test's own setup and checks, on an engine of the test's event loop
    (the app serves requests on another loop, and asyncpg connections belong to one loop).
    The database is emptied first."""
    engine = make_engine(database_url, pool_size=2)
    async with engine.begin() as connection:
        # Rows referring to rows of their own table (units to parents, findings to the ones
        # they supersede) are unlinked first, so deletion order cannot trip the key.
        for table in Base.metadata.sorted_tables:
            for fk in table.foreign_keys:
                if fk.column.table is table and fk.parent.nullable:
                    await connection.execute(update(table).values({fk.parent.name: None}))
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(delete(table))
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def client(app: Litestar, db: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as client:
        yield client


# The longest tests (each a minute or two of live servers) start first, so that with
# pytest-xdist (`make test` runs `-n auto`) they overlap the many short ones instead of
# running alone at the end.
SLOW_FIRST = ("test_live_server.py", "test_crash.py", "test_db_outage.py", "test_console_browser.py",
              "test_evidence_live.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return SLOW_FIRST.index(name) if name in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)
