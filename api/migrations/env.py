"""Alembic environment: runs with a connection handed in (tests) or an async URL (CLI)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from api import models, models_draws, models_evidence, models_field, models_review, models_scoring  # noqa: F401  (registers the tables on Base.metadata)
from api.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(engine: AsyncEngine, dispose: bool) -> None:
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        if dispose:
            await engine.dispose()


def run_migrations_online() -> None:
    # Tests (pytest-alembic) hand in a connection or an engine; the CLI hands in a URL.
    given = config.attributes.get("connection")
    if isinstance(given, AsyncEngine):
        asyncio.run(_run_async(given, dispose=False))
        return
    if isinstance(given, Connection):
        _run(given)
        return
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to the migrations")
    asyncio.run(_run_async(make_engine(url, pool_size=1), dispose=True))


if context.is_offline_mode():
    raise RuntimeError("offline SQL generation is not supported; run `spotcheck migrate`")
run_migrations_online()
