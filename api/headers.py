"""Security headers on every response: API answers, errors, routing 404s and docs alike.

One ``before_send`` hook, so nothing can bypass it (the auth middleware's 401s, the NUL
refusal of the request-id middleware and Litestar's routing errors all pass through it).
The Content-Security-Policy is chosen by path prefix: JSON and images need no scripts at
all; the interactive API docs load their scripts and styles from a CDN. A page-serving
prefix (a console, say) gets its own entry in :data:`PAGE_POLICIES`.
"""

from __future__ import annotations

from typing import Callable

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from api.settings import Settings

__all__ = ["API_POLICY", "CONSOLE_POLICY", "PAGE_POLICIES", "make_security_headers"]

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
"""For JSON and binary answers: a browser that renders one anyway may run, load or frame nothing."""

_DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = (
    f"default-src 'none'; script-src 'unsafe-inline' {_DOCS_CDN}; style-src 'unsafe-inline' {_DOCS_CDN}; "
    f"img-src 'self' data: {_DOCS_CDN}; font-src data: {_DOCS_CDN}; connect-src 'self'; worker-src blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

CONSOLE_POLICY = ("default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; "
                  "form-action 'self'; base-uri 'none'")
"""The console's pages load only their own scripts, styles and images, post only to
themselves, and are never framed (a decision button under someone else's page would be
clickjacking)."""

PAGE_POLICIES: tuple[tuple[str, str], ...] = (
    # The OpenAPI document itself is JSON: the strict policy.
    ("/schema/openapi", API_POLICY),
    ("/schema", DOCS_POLICY),
    ("/console", CONSOLE_POLICY),
)
"""(path prefix, policy), first match wins; any other path gets :data:`API_POLICY`."""

_FIXED = (
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("cross-origin-resource-policy", "same-origin"),
)


def _policy(path: str) -> str:
    return next((policy for prefix, policy in PAGE_POLICIES if path.startswith(prefix)), API_POLICY)


def make_security_headers(settings: Settings) -> Callable[[Message, Scope], object]:
    """The ``before_send`` hook adding the headers; HSTS only if ``settings.hsts_max_age`` > 0."""
    hsts = f"max-age={settings.hsts_max_age}; includeSubDomains" if settings.hsts_max_age > 0 else None

    async def security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        for name, value in _FIXED:
            headers[name] = value
        path = scope.get("path", "")
        headers["content-security-policy"] = _policy(path)
        # The console's links and forms stay on this site; nothing else needs a referrer.
        headers["referrer-policy"] = "same-origin" if path.startswith("/console") else "no-referrer"
        # Answers carry personal and enforcement data: no shared or browser cache keeps them,
        # unless the handler chose a policy itself (photos: private, revalidated by ETag).
        if "cache-control" not in headers:
            headers["cache-control"] = "no-store"
        if hsts:
            headers["strict-transport-security"] = hsts

    return security_headers
