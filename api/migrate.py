"""Programmatic Alembic entry points used by the CLI and the tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

__all__ = ["MigrationRefused", "alembic_config", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class MigrationRefused(RuntimeError):
    """A migration found data it cannot carry over unattended and changed nothing; its
    message says what to fix. ``spotcheck migrate`` prints it without a traceback."""


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at our migrations; ``url`` is passed out of band so that
    characters like ``%`` in passwords need no escaping."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (idempotent)."""
    command.upgrade(alembic_config(url), revision)
