"""Typed settings, built once from ``SPOTCHECK_*`` environment variables.

Nothing here reads the environment at import time: :func:`Settings.from_env` is called by the
CLI (or a test) and the result is passed to ``create_app(settings)``.
"""

from __future__ import annotations

import os
import secrets
from datetime import date
from pathlib import Path
from typing import Annotated, Literal, Mapping

import msgspec
from msgspec import Meta

from api.workdays import parse_holidays

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

    sync_max_body_bytes: int = 8 * 1024 * 1024
    """``SPOTCHECK_SYNC_MAX_BODY_BYTES``. Largest ``POST /sync`` body: 500 findings with full
    Chinese notes (2,000 characters, 6 KB in UTF-8), staff and photos come to about 8 MB."""

    hsts_seconds: Annotated[int, Meta(ge=-1)] = -1
    """``SPOTCHECK_HSTS_SECONDS``. ``max-age`` of the Strict-Transport-Security header; 0 sends
    none; -1 (the default) means one year when ``SPOTCHECK_ENV=production`` (served behind
    HTTPS) and none in development (plain HTTP on localhost)."""

    body_idle_seconds: Annotated[float, Meta(ge=0)] = 60.0
    """``SPOTCHECK_BODY_IDLE_SECONDS``. A request body that sends nothing for this long counts
    as cut off (408): its temporary file goes and the worker moves on. A resumable chunk keeps
    the bytes that did arrive. 0 waits forever."""

    import_max_bytes: int = 32 * 1024 * 1024
    """``SPOTCHECK_IMPORT_MAX_BYTES``. Largest CSV/XLSX import accepted over HTTP."""

    db_pool_size: int = 10
    """``SPOTCHECK_DB_POOL_SIZE``. Connections per worker (PostgreSQL)."""

    db_timeout_seconds: Annotated[float, Meta(gt=0)] = 10.0
    """``SPOTCHECK_DB_TIMEOUT_SECONDS``. Longest wait (PostgreSQL) to open a connection or to
    get one from the pool; past it the request is answered 503 with Retry-After."""

    log_level: str = "INFO"
    """``SPOTCHECK_LOG_LEVEL``. Python logging level of the JSON logs."""

    evidence_max_bytes: Annotated[int, Meta(ge=1024)] = 25 * 1024 * 1024
    """``SPOTCHECK_EVIDENCE_MAX_BYTES``. Largest photo accepted, by direct or resumable upload."""

    evidence_max_pixels: Annotated[int, Meta(ge=1)] = 64_000_000
    """``SPOTCHECK_EVIDENCE_MAX_PIXELS``. Largest image (width x height) decoded: the guard
    against decompression bombs (a few-KB PNG can declare billions of pixels)."""

    evidence_dir: str = ""
    """``SPOTCHECK_EVIDENCE_DIR``. Folder of the local evidence store; empty means
    ``DATA_DIR/evidence``. Unused when ``SPOTCHECK_EVIDENCE_S3_BUCKET`` is set."""

    evidence_s3_bucket: str = ""
    """``SPOTCHECK_EVIDENCE_S3_BUCKET``. Store evidence in this S3-compatible bucket (which must
    exist) instead of the local folder. Credentials come from ``SPOTCHECK_EVIDENCE_S3_ACCESS_KEY_ID``
    / ``SPOTCHECK_EVIDENCE_S3_SECRET_ACCESS_KEY`` if set, else from boto3's usual chain
    (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` variables, ``~/.aws``, instance role)."""

    evidence_s3_endpoint_url: str = ""
    """``SPOTCHECK_EVIDENCE_S3_ENDPOINT_URL``. E.g. ``http://minio:9000``; empty means AWS."""

    evidence_s3_prefix: str = ""
    """``SPOTCHECK_EVIDENCE_S3_PREFIX``. Key prefix inside the bucket (e.g. ``spotcheck/``)."""

    evidence_s3_region: str = ""
    """``SPOTCHECK_EVIDENCE_S3_REGION``. Region name, if the endpoint needs one."""

    evidence_s3_access_key_id: str = ""
    """``SPOTCHECK_EVIDENCE_S3_ACCESS_KEY_ID``. Optional; see ``evidence_s3_bucket``."""

    evidence_s3_secret_access_key: str = ""
    """``SPOTCHECK_EVIDENCE_S3_SECRET_ACCESS_KEY``. Optional; see ``evidence_s3_bucket``."""

    evidence_workers: Annotated[int, Meta(ge=1, le=64)] = 2
    """``SPOTCHECK_EVIDENCE_WORKERS``. Processes per worker that decode photos (metadata,
    thumbnails, perceptual hash: 30-700 ms of CPU each), so requests never wait on them."""

    evidence_near_distance: Annotated[int, Meta(ge=0, le=16)] = 6
    """``SPOTCHECK_EVIDENCE_NEAR_DISTANCE``. Largest perceptual-hash distance (bits of 64) at
    which a photo of another task counts as a near-duplicate (flag reused_near)."""

    evidence_unit_radius_m: Annotated[float, Meta(gt=0)] = 300.0
    """``SPOTCHECK_EVIDENCE_UNIT_RADIUS_M``. A photo taken farther than this from the unit's
    registered position (plus the GPS accuracy the phone reports) is flagged far_from_unit."""

    evidence_clock_tolerance_seconds: Annotated[int, Meta(ge=0)] = 900
    """``SPOTCHECK_EVIDENCE_CLOCK_TOLERANCE_SECONDS``. Phone clock drift forgiven at both ends
    of the visit window and in the future-capture check."""

    upload_expiry_seconds: Annotated[int, Meta(ge=1)] = 24 * 3600
    """``SPOTCHECK_UPLOAD_EXPIRY_SECONDS``. A resumable upload not finished within this time
    is abandoned: its received bytes are deleted."""

    holidays: Annotated[str, Meta(max_length=10000)] = ""
    """``SPOTCHECK_HOLIDAYS``. Public holidays as comma-separated ISO dates
    (``2026-10-01,2026-10-02``): with weekends, skipped when working days are counted (the
    3-working-day notice of a deduction to its unit)."""

    appeal_window_days: Annotated[int, Meta(ge=1, le=60)] = 5
    """``SPOTCHECK_APPEAL_WINDOW_DAYS``. Working days after a deduction is decided within
    which its unit may appeal it."""

    appeal_answer_days: Annotated[int, Meta(ge=1, le=120)] = 10
    """``SPOTCHECK_APPEAL_ANSWER_DAYS``. Working days after filing by which an appeal must be
    answered; unanswered ones are listed as overdue."""

    appeal_committee_size: Annotated[int, Meta(ge=1, le=9)] = 1
    """``SPOTCHECK_APPEAL_COMMITTEE_SIZE``. Chiefs who answer each appeal (odd, 1-9). With 1, the
    first eligible chief's answer decides; with more, each eligible chief votes and the median
    of the votes decides once all are in (``scoring.committee_decision``). An appeal keeps the
    size in force when it was filed."""
    audit_export_max_rows: Annotated[int, Meta(ge=1, le=1_000_000)] = 100_000
    """``SPOTCHECK_AUDIT_EXPORT_MAX_ROWS``. Most events one audit export holds (built in
    memory); a filter matching more is refused with a 422 asking for a narrower window."""

    ledger_key_file: str = ""
    """``SPOTCHECK_LEDGER_KEY_FILE``. Ed25519 key that signs ledger checkpoints; empty means
    ``DATA_DIR/ledger.key``. Created (mode 0600) on first start if missing. Keep it out of the
    database and its backups; publish its verifier key (``spotcheck ledger key``)."""

    ledger_origin: Annotated[str, Meta(pattern=r"^[^\s+]+$")] = "spotcheck.local/ledger"
    """``SPOTCHECK_LEDGER_ORIGIN``. Name of the log in its checkpoints (e.g.
    ``spotcheck.example.gov.cn/ledger``); used when the key is created, after which the key
    file's name is the origin."""

    console_language: Literal["zh-CN", "en"] = "zh-CN"
    """``SPOTCHECK_CONSOLE_LANGUAGE``. The console's language until a user switches (a cookie
    keeps the choice): ``zh-CN`` or ``en``."""

    def __post_init__(self) -> None:
        if self.appeal_committee_size % 2 == 0:
            # An even committee has no median vote.
            raise ValueError("must be odd - at `$.appeal_committee_size`")
        try:
            parse_holidays(self.holidays)
        except ValueError as exc:
            raise ValueError(f"{exc} - at `$.holidays`") from None

    @property
    def hsts_max_age(self) -> int:
        if self.hsts_seconds >= 0:
            return self.hsts_seconds
        return 365 * 24 * 3600 if self.env == "production" else 0

    @property
    def holiday_dates(self) -> frozenset[date]:
        return parse_holidays(self.holidays)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def evidence_path(self) -> Path:
        return Path(self.evidence_dir) if self.evidence_dir else self.data_path / "evidence"

    @property
    def ledger_key_path(self) -> Path:
        return Path(self.ledger_key_file) if self.ledger_key_file else self.data_path / "ledger.key"

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
