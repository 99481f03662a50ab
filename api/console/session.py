"""Console sessions: the API's access token kept in an HttpOnly, SameSite=Lax cookie.

The token is the one ``POST /api/v1/auth/token`` issues, and it is honoured by the same check
(:func:`api.security.load_principal`: user active, token version current), so logout,
disabling or a role change end a console session exactly as they revoke a bearer token. The
API itself never reads this cookie (its bearer middleware skips ``/console``): cookies are
sent by browsers unasked, so only the console, whose forms carry CSRF tokens, accepts them.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import MiddlewareProtocol
from litestar.security.jwt import Token
from litestar.types import ASGIApp, Receive, Scope, Send

from api.errors import Forbidden
from api.security import load_principal
from api.settings import Settings

__all__ = ["COOKIE", "LoginRequired", "SessionMiddleware", "allow", "ended_cookie", "session_cookie", "signed_session"]

COOKIE = "spotcheck_console"
PATH = "/console"
_SIGNED = "console_session"  # scope["state"] key: the session cookie, when its signature holds


class LoginRequired(Exception):
    """No valid session: the console answers with a redirect to its login page."""


def session_cookie(settings: Settings, token: str) -> Cookie:
    return Cookie(key=COOKIE, value=token, path=PATH, httponly=True, samesite="lax",
                  secure=settings.env == "production", max_age=settings.token_ttl_seconds)


def ended_cookie(settings: Settings) -> Cookie:
    return Cookie(key=COOKIE, value="", path=PATH, httponly=True, samesite="lax",
                  secure=settings.env == "production", max_age=0)


class SessionMiddleware(MiddlewareProtocol):
    """Sets ``scope["user"]`` to the session's principal, or None when there is none (the
    pages' guards decide what an anonymous visitor gets)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["user"] = await _principal(scope)
            scope["auth"] = None
        await self.app(scope, receive, send)


def signed_session(scope: Scope) -> str | None:
    """The session cookie if it was signed by us and has not expired, even when its user has
    since been logged out or disabled: a form posted then still passes its CSRF check and
    meets the page's guard, which sends it to the login page."""
    value: str | None = scope.get("state", {}).get(_SIGNED)
    return value


async def _principal(scope: Scope) -> Any:
    connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
    encoded = connection.cookies.get(COOKIE)
    scope.setdefault("state", {})[_SIGNED] = None
    if not encoded:
        return None
    state = connection.app.state
    auth = state.jwt_auth
    try:
        token = Token.decode(encoded_token=encoded, secret=auth.token_secret, algorithm=auth.algorithm,
                             require_claims=["exp", "sub"])
    except NotAuthorizedException:  # malformed, forged or expired
        return None
    scope["state"][_SIGNED] = encoded
    return await load_principal(state.sessionmaker, state.principals, token)


def allow(*roles: str) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]:
    """A page guard: anonymous visitors go to the login page; a signed-in user whose role is
    not among ``roles`` (all roles when none are given) gets the API's 403."""
    allowed = frozenset(roles)

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = connection.user
        if user is None:
            raise LoginRequired()
        if allowed and user.role not in allowed:
            raise Forbidden("Your role may not do this.", details={"allowed_roles": sorted(allowed)})

    return guard
