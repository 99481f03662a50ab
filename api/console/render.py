"""Rendering console pages: the shared page context (user, language, navigation, a one-shot
message), redirects after a form, and the API's errors shown as pages.

Errors go through the API's own table (api.errors): the console only changes how the
answer looks, never which status or code a failure gets.
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote, urlsplit

import msgspec
from litestar import MediaType, Request, Response
from litestar.datastructures import Cookie
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template.config import TemplateConfig

from api.console.i18n import DEFAULT_LANGUAGE, LANGUAGES, Translator
from api.console.session import PATH, LoginRequired
from api.errors import ErrorBody, exception_handlers
from api.workdays import CHINA

__all__ = ["LANG_COOKIE", "console_exception_handlers", "error_body", "flash_cookie", "page", "redirect", "safe_next",
           "template_config", "translator"]

LANG_COOKIE = "spotcheck_lang"
FLASH_COOKIE = "spotcheck_flash"
TEMPLATES = Path(__file__).resolve().parent / "templates"

# (label key, path, roles): what each role finds in the menu.
NAV = (
    ("nav.review", "/console/review", {"chief"}),
    ("nav.appeals", "/console/appeals", {"chief", "admin"}),
    ("nav.plans", "/console/plans", {"chief", "admin"}),
    ("nav.my", "/console/my", {"unit"}),
    ("nav.my_score", "/console/my/score", {"unit"}),
    ("nav.leaderboard", "/console/leaderboard", {"chief", "admin", "inspector", "unit"}),
)


def _china(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(CHINA).strftime(fmt)
    return value.isoformat()


def _points(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _filters(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters["china"] = _china
    engine.engine.filters["pts"] = _points


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=_filters)


def translator(request: Request[Any, Any, Any]) -> Translator:
    default = request.app.state.settings.console_language
    language = request.cookies.get(LANG_COOKIE, default)
    return Translator(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def safe_next(value: str | None, fallback: str = "/console") -> str:
    """Only a path of this console: never another site (an open redirect)."""
    if value and value.startswith(PATH) and not value.startswith("//") and "\\" not in value and "\n" not in value:
        return value
    return fallback


def flash_cookie(kind: str, text: str) -> Cookie:
    """A message shown once on the next page (``kind``: ok or error)."""
    value = base64.urlsafe_b64encode(json.dumps({"kind": kind, "text": text}).encode()).decode()
    return Cookie(key=FLASH_COOKIE, value=value, path=PATH, httponly=True, samesite="lax", max_age=120)


def _read_flash(request: Request[Any, Any, Any]) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(raw.encode()))
        return {"kind": str(value["kind"]), "text": str(value["text"])}
    except (ValueError, KeyError, TypeError):
        return None


def redirect(path: str, flash: tuple[str, str] | None = None, cookies: list[Cookie] | None = None) -> Redirect:
    """See other (303): the browser follows with a GET, so a reload never resends a form."""
    jar = list(cookies or [])
    if flash is not None:
        jar.append(flash_cookie(*flash))
    return Redirect(path=path, status_code=303, cookies=jar)


def page(request: Request[Any, Any, Any], name: str, *, status: int = 200, **context: Any) -> Template:
    """Render ``name`` with the common context; a pending message is shown and cleared."""
    t = translator(request)
    user = request.scope.get("user")
    path = request.url.path
    nav = [{"label": label, "href": href, "active": path == href or (href != "/console/my" and path.startswith(href + "/"))}
           for label, href, roles in NAV if user is not None and user.role in roles]
    flash = _read_flash(request)
    here = path + (f"?{request.url.query}" if request.url.query else "")
    common = {"t": t, "lang": t.language, "user": user, "nav": nav, "flash": flash, "here": here}
    cookies = [Cookie(key=FLASH_COOKIE, value="", path=PATH, max_age=0)] if flash else []
    return Template(template_name=name, context={**common, **context}, status_code=status, cookies=cookies,
                    media_type=MediaType.HTML)


def _error_page(request: Request[Any, Any, Any], status: int, body: ErrorBody) -> Response[Any]:
    t = translator(request)
    if status == 403 and "CSRF" in body.message:
        summary = t("error.csrf")
    elif status in (403, 404):
        summary = t(f"error.{status}")
    else:
        summary = t(f"error.{body.code}") if t.has(f"error.{body.code}") else t("error.other")
    return page(request, "error.html", status=status, summary=summary, error=body)  # type: ignore[return-value]


def error_body(request: Request[Any, Any, Any], exc: Exception) -> tuple[int, ErrorBody]:
    """The status and error body the API's table gives ``exc`` (most specific class first)."""
    kind = next(k for k in type(exc).__mro__ if k in exception_handlers)
    answer = exception_handlers[kind](request, exc)
    return answer.status_code, msgspec.json.decode(answer.content, type=ErrorBody)


def _as_page(api_handler: Any) -> Any:
    def handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        answer = api_handler(request, exc)
        return _error_page(request, answer.status_code, msgspec.json.decode(answer.content, type=ErrorBody))

    return handler


def _to_login(request: Request[Any, Any, Any], _: LoginRequired) -> Response[Any]:
    if request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:
        # A form posted after the session ended: after logging in, back to the page it came
        # from (a GET of the form's own action would be a 405), where it can be sent again.
        referer = urlsplit(request.headers.get("referer", ""))
        target = safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))
    return Redirect(path=f"/console/login?next={quote(target, safe='')}", status_code=303)


def console_or_api(api_handler: Any) -> Any:
    """An application-wide handler: under /console, the console's error page; elsewhere the
    API's answer. Routing errors (an unknown path, a wrong method) are raised before any
    router's own handlers, the console's included."""
    as_page = _as_page(api_handler)

    def handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        path = request.url.path
        console = path == PATH or path.startswith(f"{PATH}/")
        return as_page(request, exc) if console else api_handler(request, exc)  # type: ignore[no-any-return]

    return handler


def console_exception_handlers() -> Mapping[Any, Any]:
    """The API's exception table, each answer rendered as a page; no session: to the login."""
    handlers: dict[Any, Any] = {kind: _as_page(handler) for kind, handler in exception_handlers.items()}
    handlers[LoginRequired] = _to_login
    return handlers
