"""Passwords (argon2), login throttling, bearer tokens and role guards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.security.jwt import JWTAuth, Token
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import utcnow
from api.errors import Forbidden, TooManyRequests
from api.models import LoginThrottle, User
from api.settings import Settings

__all__ = [
    "Principal",
    "authenticate",
    "hash_password",
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
    return None


def make_jwt_auth(settings: Settings) -> JWTAuth[Principal, Token]:
    """Bearer-token auth; every token is re-checked against the user row, so disabling a user,
    logging out or changing a role takes effect at once on every worker."""

    async def retrieve_user(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
        try:
            user_id = int(token.sub)
        except ValueError:
            return None
        sessionmaker = connection.app.state.sessionmaker
        async with sessionmaker() as session:
            user = await session.get(User, user_id)
        if user is None or not user.active or token.extras.get("ver") != user.token_version:
            return None
        return Principal(id=user.id, username=user.username, role=user.role, unit_code=user.unit_code)

    return JWTAuth[Principal, Token](
        retrieve_user_handler=retrieve_user,
        token_secret=settings.secret_key,
        default_token_expiration=timedelta(seconds=settings.token_ttl_seconds),
        exclude=["^/healthz$", "^/readyz$", "^/schema", "^/api/v1/auth/token$"],
        # Litestar skips HEAD too by default; a tus upload's HEAD must know its owner.
        exclude_http_methods=["OPTIONS"],
        require_claims=["exp", "sub"],
    )


def issue_token(auth: JWTAuth[Principal, Token], settings: Settings, user: User) -> tuple[str, datetime]:
    expires_at = utcnow() + timedelta(seconds=settings.token_ttl_seconds)
    token = auth.create_token(
        identifier=str(user.id),
        token_expiration=timedelta(seconds=settings.token_ttl_seconds),
        token_extras={"ver": user.token_version, "role": user.role},
    )
    return token, expires_at.replace(microsecond=0)


def requires(*roles: str) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]:
    """A guard admitting only the given roles (403 otherwise)."""
    allowed = frozenset(roles)

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if connection.scope.get("method") == "OPTIONS":
            return  # CORS preflight: unauthenticated by design, answers only the Allow header
        if connection.user.role not in allowed:
            raise Forbidden("Your role may not do this.", details={"allowed_roles": sorted(allowed)})

    return guard
