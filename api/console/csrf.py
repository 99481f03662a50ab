"""The console's CSRF tokens, bound to the session they were issued for.

A token is an HMAC, under a key derived from the secret key, of what identifies the browser's
session: the signed session cookie (each login signs a new one, with a random ``jti``) or,
before login, a random pre-session nonce in a cookie of its own. Nothing is stored server-side:
the token is recomputed on every request and compared in constant time. A token therefore
works only beside the cookie it was made from: not in another user's (or an attacker's own)
session, not after logout (the session cookie is dropped and its token version revoked), not
after logging in again (a new session cookie), and a login form's token dies with the login
(the nonce is dropped then).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from litestar.connection import Request
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from api.console.session import PATH, signed_session
from api.settings import Settings

__all__ = ["FIELD", "PRESESSION_COOKIE", "CSRFMiddleware", "ended_presession_cookie"]

FIELD = "_csrf_token"  # the name Litestar's ``csrf_input`` gives the hidden field
HEADER = "x-csrftoken"
PRESESSION_COOKIE = "spotcheck_presession"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Kept as the refusal Litestar's own CSRF middleware gave, so the console's page for it
# ("the page expired; reload") and the API's error body stay the same.
REFUSAL = "CSRF token verification failed"


def ended_presession_cookie(settings: Settings) -> Cookie:
    return Cookie(key=PRESESSION_COOKIE, value="", path=PATH, httponly=True, samesite="lax",
                  secure=settings.env == "production", max_age=0)


class CSRFMiddleware:
    """Refuses a console form whose token was not made for this browser's session; gives
    every page the token of its session (``csrf_input`` in the templates)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.secure = settings.env == "production"
        # A key of its own, derived from the secret: CSRF tokens never double as anything else.
        self.key = hashlib.sha256(b"spotcheck-console-csrf\0" + settings.secret_key.encode()).digest()

    def _token(self, kind: bytes, value: str) -> str:
        # The kind keeps a session cookie and a nonce of equal text from making the same token.
        return hmac.new(self.key, kind + b"\0" + value.encode(), hashlib.sha256).hexdigest()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request: Request[Any, Any, Any] = Request(scope, receive)
        session = signed_session(scope)
        nonce = None if session else request.cookies.get(PRESESSION_COOKIE)
        new_nonce = None
        if session:
            expected: str | None = self._token(b"session", session)
        elif nonce:
            expected = self._token(b"presession", nonce)
        elif request.method in SAFE_METHODS:
            new_nonce = secrets.token_urlsafe(32)
            expected = self._token(b"presession", new_nonce)
        else:
            expected = None
        if request.method not in SAFE_METHODS:
            sent = await _sent_token(request)
            if expected is None or sent is None or not hmac.compare_digest(sent.encode(), expected.encode()):
                raise PermissionDeniedException(REFUSAL)
        ScopeState.from_scope(scope).csrf_token = expected
        await self.app(scope, receive, send if new_nonce is None else self._setting_nonce(send, new_nonce))

    def _setting_nonce(self, send: Send, nonce: str) -> Send:
        cookie = Cookie(key=PRESESSION_COOKIE, value=nonce, path=PATH, httponly=True, samesite="lax",
                        secure=self.secure)

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                MutableScopeHeaders.from_message(message).add("set-cookie", cookie.to_header(header=""))
            await send(message)

        return wrapped


async def _sent_token(request: Request[Any, Any, Any]) -> str | None:
    token = request.headers.get(HEADER)
    if token:
        return token
    content_type, _ = request.content_type
    if content_type in (RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART):
        value = (await request.form()).get(FIELD)
        return value if isinstance(value, str) else None
    return None
