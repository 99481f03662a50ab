"""Passwords (argon2), login throttling, bearer tokens and role guards."""

from __future__ import annotations

import asyncio
import functools
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.authentication import AuthenticationResult
from litestar.security.jwt import JWTAuth, JWTAuthenticationMiddleware, Token
from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.db import utcnow
from api.errors import Forbidden, TooManyRequests
from api.models import USERNAME_KEY_LENGTH, LoginThrottle, User, username_key
from api.settings import Settings

__all__ = [
    "Principal",
    "PrincipalCache",
    "authenticate",
    "hash_password",
    "issue_token",
    "load_principal",
    "make_jwt_auth",
    "requires",
    "verify_password",
]

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so both paths cost the same time. Made
    on first use with the hasher's own parameters, not at import: a hash costs every process
    that imports the app (each worker, each CLI command) 0.1-0.2 s."""
    return _hasher.hash("spotcheck-timing-equaliser")

MAX_LOCKOUT = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller, as seen by guards and controllers."""

    id: int
    username: str
    role: str
    unit_code: str | None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def authenticate(
    session: AsyncSession, settings: Settings, username: str, password: str
) -> User | None:
    """Check a username and password, applying the lockout policy.

    Each attempt is counted before its password is checked, and committed at once, so that
    concurrent attempts (on any worker) cannot all slip in before the count catches up: the
    attempt that reaches ``login_max_failures`` locks the name for the others, and a success
    clears the count. Raises :class:`TooManyRequests` while the username is locked (the
    password is then not checked). Returns the active user, or ``None`` for any kind of
    failure. The caller commits.

    The name is matched in any case (``Zhangwei`` finds ``ZhangWei``) and counted under its
    :func:`~api.models.username_key`, so retyping it in another case is the same name to the
    lockout too.
    """
    now = utcnow()
    key = _throttle_key(username)
    attempts = await _count_attempt(session, settings, key, now)
    if attempts is None:
        locked_until = (await session.execute(
            select(LoginThrottle.locked_until).where(LoginThrottle.username == key))).scalar_one_or_none()
        await session.rollback()
        wait = max(1, int(((locked_until or now) - now).total_seconds()) + 1)
        raise TooManyRequests(
            "Too many failed logins for this username; try again later.",
            code="LOGIN_LOCKED",
            details={"retry_after_seconds": wait},
            headers={"Retry-After": str(wait)},
        )
    found = (await session.execute(
        select(User.id, User.password_hash).where(User.username_key == username_key(username), User.active.is_(True))
    )).first()
    await session.commit()  # the attempt counts for every worker before the slow hash starts
    # argon2 takes tens of milliseconds of CPU: off the event loop, which serves everyone else.
    ok = await anyio.to_thread.run_sync(verify_password, found.password_hash if found else _dummy_hash(), password)
    if not (ok and found):
        return None
    user = await session.get(User, found.id)
    if user is None or not user.active:
        return None
    await session.execute(delete(LoginThrottle).where(LoginThrottle.username == key))
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _throttle_key(username: str) -> str:
    """The row a login attempt counts on. NFKC can lengthen a name (one character may become
    several) past the column; such a name is nobody's, since an account's key fits, and
    cutting it keeps each attempt counted rather than failing the insert."""
    return username_key(username)[:USERNAME_KEY_LENGTH]


async def _count_attempt(session: AsyncSession, settings: Settings, username: str, now: datetime) -> int | None:
    """Count one attempt since the last success, unless the name is locked (``None``).
    ``username`` is the throttle key (:func:`_throttle_key`).

    One atomic upsert: concurrent attempts for one name each count (a row lock on PostgreSQL,
    the write lock on SQLite orders them) and the first ones for a new name cannot collide
    on its key.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    unlocked = or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now)
    counted = (await session.execute(
        insert(LoginThrottle).values(username=username, failures=1, last_failure_at=now)
        .on_conflict_do_update(index_elements=["username"], where=unlocked,
                               set_={"failures": LoginThrottle.failures + 1, "last_failure_at": now})
        .returning(LoginThrottle.failures)
    )).scalar_one_or_none()
    if counted is not None and counted >= settings.login_max_failures:
        excess = counted - settings.login_max_failures
        lock = timedelta(seconds=settings.login_lockout_seconds) * (2 ** min(excess, 10))
        locked_until = now + min(lock, MAX_LOCKOUT)
        await session.execute(update(LoginThrottle).where(LoginThrottle.username == username)
                              .values(locked_until=locked_until))
        # The audit log names an account as it is spelled everywhere else; an unknown name
        # by its key. The caller is not authenticated: the lockout is the system's doing.
        named = (await session.execute(select(User.username).where(User.username_key == username))).scalar_one_or_none()
        audit.record(session, audit.SYSTEM, "user.locked_out", "user", named or username, None,
                     {"failures": counted, "locked_until": locked_until})
    return counted


class PrincipalCache:
    """Checked users by (id, token version), each trusted for ``ttl`` seconds.

    A hot path (thousands of requests a second from field phones) must not read the user
    row every time; the price is that a revocation reaches other workers within ``ttl``.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[tuple[int, int], tuple[float, Principal | None]] = {}
        self._reading: dict[tuple[int, int], asyncio.Task[Principal | None]] = {}

    async def fetch(self, key: tuple[int, int], read: Callable[[], Awaitable[Principal | None]]) -> Principal | None:
        """The cached principal of ``key``, else the result of ``read()``, cached.

        Concurrent misses of one key share one read: when a busy user's entry expires,
        dozens of their requests are in flight at once, and each reading the row itself
        would queue as many reads behind the database. The read runs as its own task, so
        a caller that goes away does not cancel it for the others."""
        known, principal = self.get(key)
        if known:
            return principal
        task = self._reading.get(key)
        if task is None:
            task = asyncio.create_task(self._read(key, read))
            self._reading[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(task)

    async def _read(self, key: tuple[int, int], read: Callable[[], Awaitable[Principal | None]]) -> Principal | None:
        principal = await read()
        # An eviction during the read (a logout on this worker) drops it from _reading: what
        # it read may predate the logout, so it answers its callers but is not kept.
        if self._reading.get(key) is asyncio.current_task():
            self.put(key, principal)
        return principal

    def _finished(self, key: tuple[int, int], task: asyncio.Task[Principal | None]) -> None:
        if self._reading.get(key) is task:
            del self._reading[key]
        if not task.cancelled():
            task.exception()  # retrieved, so a read whose callers all went away logs nothing

    def get(self, key: tuple[int, int]) -> tuple[bool, Principal | None]:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, key: tuple[int, int], principal: Principal | None) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) > 10_000:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if v[0] >= now}
        self._entries[key] = (time.monotonic() + self.ttl, principal)

    def evict(self, user_id: int) -> None:
        for key in [k for k in self._entries if k[0] == user_id]:
            del self._entries[key]
        for key in [k for k in self._reading if k[0] == user_id]:
            del self._reading[key]


class CachingJWTMiddleware(JWTAuthenticationMiddleware):
    """Verifies each distinct token once per worker, not on every request.

    A token string always decodes to the same claims, so the verified ``Token`` is kept
    (bounded, by string) and only its expiry is checked again; the user behind it is still
    checked through :class:`PrincipalCache`.
    """

    MAX_TOKENS = 20_000

    async def authenticate_token(self, encoded_token: str, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        decoded: dict[str, Token] = connection.app.state.setdefault("verified_tokens", {})
        token = decoded.get(encoded_token)
        if token is None or token.exp <= datetime.now(timezone.utc):
            decoded.pop(encoded_token, None)
            token = self.token_cls.decode(
                encoded_token=encoded_token, secret=self.token_secret, algorithm=self.algorithm,
                audience=self.token_audience, issuer=self.token_issuer, require_claims=self.require_claims,
                verify_exp=self.verify_expiry, verify_nbf=self.verify_not_before, strict_audience=self.strict_audience,
            )
            if len(decoded) >= self.MAX_TOKENS:
                decoded.clear()
            decoded[encoded_token] = token
        user = await self.retrieve_user_handler(token, connection)
        if not user:
            raise NotAuthorizedException()
        return AuthenticationResult(user=user, auth=token)


async def load_principal(sessionmaker: Any, cache: PrincipalCache, token: Token) -> Principal | None:
    """The user behind a verified token, or ``None``: honoured only while the user is active
    and the token's version is current (logout, disabling and role changes bump it), checked
    against the user row at most every ``cache.ttl`` seconds. The API's bearer tokens and the
    console's session cookie (api.console.session) both go through here."""
    try:
        user_id, version = int(token.sub), int(token.extras.get("ver", -1))
    except (TypeError, ValueError):
        return None

    async def read() -> Principal | None:
        async with sessionmaker() as session:
            user = (await session.execute(_USER_BY_ID, {"id": user_id})).first()
        if user is not None and user.active and version == user.token_version:
            return Principal(id=user.id, username=user.username, role=user.role, unit_code=user.unit_code)
        return None

    return await cache.fetch((user_id, version), read)


# Columns, not an ORM object: nothing to track, and the statement is built once.
_USER_BY_ID = select(User.id, User.username, User.role, User.unit_code, User.active, User.token_version).where(
    User.id == bindparam("id"))


def make_jwt_auth(settings: Settings, cache: PrincipalCache) -> JWTAuth[Principal, Token]:
    """Bearer-token auth for the API (see :func:`load_principal`). The console (``/console``)
    authenticates with its own session cookie instead, so a browser's cookie never
    authenticates an API call (which takes no CSRF token)."""

    async def retrieve_user(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
        return await load_principal(connection.app.state.sessionmaker, cache, token)

    return JWTAuth[Principal, Token](
        retrieve_user_handler=retrieve_user,
        token_secret=settings.secret_key,
        default_token_expiration=timedelta(seconds=settings.token_ttl_seconds),
        exclude=["^/healthz$", "^/readyz$", "^/schema", "^/api/v1/auth/token$", "^/console(/|$)"],
        # Litestar skips HEAD too by default; a tus upload's HEAD must know its owner.
        exclude_http_methods=["OPTIONS"],
        require_claims=["exp", "sub"],
        authentication_middleware_class=CachingJWTMiddleware,
    )


def issue_token(auth: JWTAuth[Principal, Token], settings: Settings, user: User) -> tuple[str, datetime]:
    expires_at = utcnow() + timedelta(seconds=settings.token_ttl_seconds)
    token = auth.create_token(
        identifier=str(user.id),
        token_expiration=timedelta(seconds=settings.token_ttl_seconds),
        # Random, so no two logins share a token: the console binds its CSRF tokens to it.
        token_unique_jwt_id=secrets.token_urlsafe(16),
        token_extras={"ver": user.token_version, "role": user.role},
    )
    return token, expires_at.replace(microsecond=0)


def requires(*roles: str) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]:
    """A guard admitting only the given roles (403 otherwise).

    Async on purpose: Litestar runs a sync guard in a worker thread, which costs more than
    the check itself on every request.
    """
    allowed = frozenset(roles)

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if connection.scope.get("method") == "OPTIONS":
            return  # CORS preflight: unauthenticated by design, answers only the Allow header
        if connection.user.role not in allowed:
            raise Forbidden("Your role may not do this.", details={"allowed_roles": sorted(allowed)})

    return guard
