"""Logging in and out of the console, the language switch, and each role's start page.

Login is the API's (api.security.authenticate: lockout, timing); the session is the API's
token in a cookie (api.console.session); logging out revokes every token of the user, as
``POST /api/v1/auth/logout`` does.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie, State
from litestar.params import FromPath, FromQuery

from api.accounts import revoke_tokens
from api.console.csrf import ended_presession_cookie
from api.console.forms import parse
from api.console.i18n import LANGUAGES
from api.console.render import LANG_COOKIE, page, redirect, safe_next, translator
from api.console.session import PATH, allow, ended_cookie, session_cookie
from api.deps import DB, AppSettings
from api.errors import TooManyRequests, ValidationFailed
from api.schemas.auth import TokenRequest
from api.security import Principal, authenticate, issue_token

__all__ = ["AuthPages"]

Req = Request[Principal | None, Any, Any]
HOME = {"chief": "/console/review", "admin": "/console/plans", "unit": "/console/my", "inspector": "/console/leaderboard"}


class AuthPages(Controller):
    path = PATH

    @get("/", name="console-home", guards=[allow()])
    async def home(self, request: Req) -> Any:
        assert request.user is not None
        return redirect(HOME[request.user.role])

    @get("/login", name="console-login")
    async def login_form(self, request: Req, next: FromQuery[str | None] = None) -> Any:
        if request.user is not None:
            return redirect(safe_next(next))
        return page(request, "login.html", next=safe_next(next), error=None)

    @post("/login", name="console-login-post")
    async def login(self, request: Req, db: DB, settings: AppSettings, state: State) -> Any:
        form = await request.form()
        target = safe_next(form.get("next"))
        t = translator(request)
        try:
            data = parse({"username": form.get("username", ""), "password": form.get("password", "")}, TokenRequest)
            user = await authenticate(db, settings, data.username, data.password)
        except TooManyRequests as exc:
            return page(request, "login.html", status=429, next=target,
                        error=t("login.locked", seconds=(exc.details or {}).get("retry_after_seconds", "?")))
        except ValidationFailed:
            return page(request, "login.html", status=401, next=target, error=t("login.failed"))
        await db.commit()  # the failure count, or its reset
        if user is None:
            return page(request, "login.html", status=401, next=target, error=t("login.failed"))
        # A new session cookie (never one the browser brought: session fixation) and so new
        # CSRF tokens; the login form's token dies with its nonce.
        token, _ = issue_token(state.jwt_auth, settings, user)
        return redirect(target, cookies=[session_cookie(settings, token), ended_presession_cookie(settings)])

    @post("/logout", name="console-logout", guards=[allow()])
    async def logout(self, request: Req, db: DB, settings: AppSettings, state: State) -> Any:
        assert request.user is not None
        await revoke_tokens(db, request.user.id)
        await db.commit()
        state.principals.evict(request.user.id)
        return redirect("/console/login", flash=("ok", translator(request)("login.logged_out")),
                        cookies=[ended_cookie(settings), ended_presession_cookie(settings)])

    @get("/lang/{language:str}", name="console-language")
    async def language(self, language: FromPath[str], next: FromQuery[str | None] = None) -> Any:
        chosen = language if language in LANGUAGES else LANGUAGES[0]
        cookie = Cookie(key=LANG_COOKIE, value=chosen, path=PATH, samesite="lax", max_age=365 * 86400)
        return redirect(safe_next(next), cookies=[cookie])
