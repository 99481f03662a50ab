"""Throw-away databases for the tests: a SQLite file, or a fresh PostgreSQL database."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

__all__ = ["admin_execute", "asyncpg_url", "create_postgres_database", "drop_postgres_database", "sqlite_url"]


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _plain(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql"))


def asyncpg_url(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql+asyncpg", path=f"/{database}"))


def admin_execute(admin_url: str, statement: str) -> None:
    """Run one statement on the PostgreSQL server of ``admin_url``, outside any transaction."""
    async def run() -> None:
        connection = await asyncpg.connect(_plain(admin_url), timeout=10)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


def create_postgres_database(admin_url: str, prefix: str = "spotcheck_test") -> str:
    """Create an empty database beside the one ``admin_url`` names; return its async URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin_execute(admin_url, f'CREATE DATABASE "{name}"')
    return asyncpg_url(admin_url, name)


def drop_postgres_database(admin_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
