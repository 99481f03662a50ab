"""Passwords (argon2), login throttling, bearer tokens and role guards."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.authentication import AuthenticationResult
from litestar.security.jwt import JWTAuth, JWTAuthenticationMiddleware, Token
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.db import utcnow
from api.errors import Forbidden, TooManyRequests
from api.models import LoginThrottle, User
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
# Verified against when the username is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("spotcheck-timing-equaliser")
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

    Raises :class:`TooManyRequests` while the username is locked (the password is then not
    even checked). Returns the active user, or ``None`` for any kind of failure, which is
    counted. The caller commits.
    """
    now = utcnow()
    throttle = await session.get(LoginThrottle, username, with_for_update=True)
    if throttle and throttle.locked_until and throttle.locked_until > now:
        wait = int((throttle.locked_until - now).total_seconds()) + 1
        raise TooManyRequests(
            "Too many failed logins for this username; try again later.",
            code="LOGIN_LOCKED",
            details={"retry_after_seconds": wait},
            headers={"Retry-After": str(wait)},
        )
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if ok and user is not None and user.active:
        if throttle:
            await session.execute(delete(LoginThrottle).where(LoginThrottle.username == username))
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        return user
    if throttle is None:
        throttle = LoginThrottle(username=username, failures=0)
        session.add(throttle)
    throttle.failures += 1
    throttle.last_failure_at = now
    excess = throttle.failures - settings.login_max_failures
    if excess >= 0:
        lock = timedelta(seconds=settings.login_lockout_seconds) * (2 ** min(excess, 10))
        throttle.locked_until = now + min(lock, MAX_LOCKOUT)
        # The caller is not authenticated: the lockout is the system's doing.
        audit.record(session, audit.SYSTEM, "user.locked_out", "user", username, None,
                     {"failures": throttle.failures, "locked_until": throttle.locked_until})
    return None


class PrincipalCache:
    """Checked users by (id, token version), each trusted for ``ttl`` seconds.

    A hot path (thousands of requests a second from field phones) must not read the user
    row every time; the price is that a revocation reaches other workers within ``ttl``.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[tuple[int, int], tuple[float, Principal | None]] = {}

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
    known, principal = cache.get((user_id, version))
    if known:
        return principal
    async with sessionmaker() as session:
        user = await session.get(User, user_id)
    principal = None
    if user is not None and user.active and version == user.token_version:
        principal = Principal(id=user.id, username=user.username, role=user.role, unit_code=user.unit_code)
    cache.put((user_id, version), principal)
    return principal


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
