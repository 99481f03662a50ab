"""The chiefs' and units' web console under ``/console``: server-rendered pages (Jinja2
templates, a little plain JavaScript, no front-end build) in the API's own app.

Pages call the services the API controllers call (api.review, api.appeals, api.notices,
api.scores, api.drawing, api.tasks, api.evidence_records), so a rule lives in one place.
Sessions are the API's tokens in a cookie (session.py); every form carries a CSRF token bound
to that session (csrf.py), checked for the console's routes only (the JSON API takes bearer
tokens, never cookies).
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.middleware import DefineMiddleware
from litestar.static_files import create_static_files_router

from api.console.appeal_pages import AppealPages
from api.console.auth_pages import AuthPages
from api.console.csrf import CSRFMiddleware
from api.console.draw_pages import DrawPages
from api.console.evidence_pages import EvidencePages
from api.console.render import console_exception_handlers, template_config
from api.console.review_pages import ReviewPages
from api.console.score_pages import ScorePages
from api.console.session import PATH, SessionMiddleware
from api.console.unit_pages import UnitPages
from api.settings import Settings

__all__ = ["console_routers", "template_config"]

STATIC = Path(__file__).resolve().parent / "static"
# Security headers (CSP, framing, referrer) come from api.headers, which sets them on every
# answer, the console's included (CONSOLE_POLICY).


def console_routers(settings: Settings) -> list[Router]:
    """The console's pages and its static files, none of them in the API's OpenAPI document."""
    pages = Router(
        path="/",
        route_handlers=[AuthPages, ReviewPages, DrawPages, AppealPages, ScorePages, UnitPages, EvidencePages],
        middleware=[SessionMiddleware, DefineMiddleware(CSRFMiddleware, settings=settings)],
        exception_handlers=console_exception_handlers(),
        include_in_schema=False,
    )
    static = create_static_files_router(path=f"{PATH}/static", directories=[STATIC], include_in_schema=False,
                                        name="console-static")
    return [pages, static]
