"""Typed settings, built once from ``SPOTCHECK_*`` environment variables.

Nothing here reads the environment at import time: :func:`Settings.from_env` is called by the
CLI (or a test) and the result is passed to ``create_app(settings)``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal, Mapping

import msgspec

__all__ = ["Settings", "SettingsError", "ENV_PREFIX"]

ENV_PREFIX = "SPOTCHECK_"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Runtime configuration of one Spotcheck process (all workers share the same values)."""

    env: Literal["development", "production"] = "development"
    """``SPOTCHECK_ENV``. In production every secret must be given explicitly."""

    data_dir: str = "./var"
    """``SPOTCHECK_DATA_DIR``. Local state: the embedded database, evidence files, keys."""

    database_url: str = ""
    """``SPOTCHECK_DATABASE_URL``. SQLAlchemy async URL, e.g.
    ``postgresql+asyncpg://user@host/db``; empty means SQLite at ``DATA_DIR/spotcheck.db``."""

    secret_key: str = ""
    """``SPOTCHECK_SECRET_KEY``. Signs access tokens; at least 32 characters. Required in
    production; in development a random key is created once in ``DATA_DIR/secret_key``."""

    token_ttl_seconds: int = 8 * 3600
    """``SPOTCHECK_TOKEN_TTL_SECONDS``. Lifetime of an access token (one working day)."""

    auth_cache_seconds: float = 5.0
    """``SPOTCHECK_AUTH_CACHE_SECONDS``. How long a worker trusts a checked token's user
    (active, role, token version) before reading it again; 0 reads it on every request.
    Logout, disabling or a role change take effect at once on the worker that handles
    them and within this delay on the others."""

    checkin_radius_m: float = 300.0
    """``SPOTCHECK_CHECKIN_RADIUS_M``. A check-in farther than this from the unit's registered
    position (plus the phone's reported accuracy) is flagged ``far_from_unit``."""

    clock_skew_seconds: float = 300.0
    """``SPOTCHECK_CLOCK_SKEW_SECONDS``. A device clock farther than this from the server's is
    flagged ``clock_skew`` on check-in."""

    login_max_failures: int = 5
    """``SPOTCHECK_LOGIN_MAX_FAILURES``. Consecutive failed logins before a username is locked."""

    login_lockout_seconds: int = 60
    """``SPOTCHECK_LOGIN_LOCKOUT_SECONDS``. First lockout; it doubles with each further
    failure, up to 15 minutes."""

    max_body_bytes: int = 1024 * 1024
    """``SPOTCHECK_MAX_BODY_BYTES``. Largest JSON request body accepted."""

    import_max_bytes: int = 32 * 1024 * 1024
    """``SPOTCHECK_IMPORT_MAX_BYTES``. Largest CSV/XLSX import accepted over HTTP."""

    db_pool_size: int = 10
    """``SPOTCHECK_DB_POOL_SIZE``. Connections per worker (PostgreSQL)."""

    log_level: str = "INFO"
    """``SPOTCHECK_LOG_LEVEL``. Python logging level of the JSON logs."""

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_path / 'spotcheck.db').resolve()}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Build settings from ``SPOTCHECK_*`` variables (``os.environ`` by default).

        In development, a missing secret key is generated once and kept in the data folder,
        so that restarts and several workers share it. In production a missing or short key
        is an error: no secret has a default there.
        """
        environ = os.environ if environ is None else environ
        raw: dict[str, object] = {}
        for field in msgspec.structs.fields(cls):
            value = environ.get(ENV_PREFIX + field.name.upper())
            if value is not None and value != "":
                raw[field.name] = value
        try:
            settings = msgspec.convert(raw, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise SettingsError(f"invalid setting: {_env_name(exc)}") from None
        return settings._with_secret()

    def _with_secret(self) -> "Settings":
        if self.secret_key:
            if len(self.secret_key) < 32:
                raise SettingsError("SPOTCHECK_SECRET_KEY must be at least 32 characters")
            return self
        if self.env == "production":
            raise SettingsError("SPOTCHECK_SECRET_KEY is required when SPOTCHECK_ENV=production")
        return msgspec.structs.replace(self, secret_key=_dev_secret(self.data_path))


def _env_name(exc: msgspec.ValidationError) -> str:
    # msgspec says "... - at `$.token_ttl_seconds`"; name the variable the operator must fix.
    message = str(exc)
    if "`$." in message:
        field = message.rsplit("`$.", 1)[1].rstrip("`")
        return f"{ENV_PREFIX}{field.upper()}: {message.split(' - at ')[0]}"
    return message


def _dev_secret(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: when several workers start at once, exactly one key wins and all read it back.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key)
    return key
