"""Security headers on every response: API answers, errors, routing 404s and docs alike.

One ``before_send`` hook, so nothing can bypass it (the auth middleware's 401s, the NUL
refusal of the request-id middleware and Litestar's routing errors all pass through it).
The Content-Security-Policy is chosen by path prefix: JSON and images need no scripts at
all; the interactive API docs load their scripts and styles from a CDN. A page-serving
prefix (a console, say) gets its own entry in :data:`PAGE_POLICIES`.
"""

from __future__ import annotations

import functools
from typing import Callable

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
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
_SET = frozenset({name for name, _ in _FIXED} | {b"content-security-policy", b"referrer-policy",
                                                    b"strict-transport-security"})


@functools.lru_cache(maxsize=64)
def _page_headers(path_prefix: str, hsts: bytes | None) -> tuple[tuple[bytes, bytes], ...]:
    """The headers a path's answers get (its policy found by prefix), encoded once."""
    headers = [*_FIXED, (b"content-security-policy", _policy(path_prefix).encode()),
               # The console's links and forms stay on this site; nothing else needs a referrer.
               (b"referrer-policy", b"same-origin" if path_prefix.startswith("/console") else b"no-referrer")]
    if hsts:
        headers.append((b"strict-transport-security", hsts))
    return tuple(headers)


def _policy(path: str) -> str:
    return next((policy for prefix, policy in PAGE_POLICIES if path.startswith(prefix)), API_POLICY)


def _prefix(path: str) -> str:
    # The cache key: the matching prefix of PAGE_POLICIES, or "" for every other path.
    return next((prefix for prefix, _ in PAGE_POLICIES if path.startswith(prefix)), "")


def make_security_headers(settings: Settings) -> Callable[[Message, Scope], object]:
    """The ``before_send`` hook adding the headers; HSTS only if ``settings.hsts_max_age`` > 0."""
    hsts = f"max-age={settings.hsts_max_age}; includeSubDomains".encode() if settings.hsts_max_age > 0 else None

    async def security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        # Raw header pairs, not MutableScopeHeaders: this runs for every answer, and a lookup
        # per header there scans the whole list.
        given = message.get("headers") or []
        headers = [(name, value) for name, value in given if name.lower() not in _SET]
        headers.extend(_page_headers(_prefix(scope.get("path", "")), hsts))
        # Answers carry personal and enforcement data: no shared or browser cache keeps them,
        # unless the handler chose a policy itself (photos: private, revalidated by ETag).
        if not any(name.lower() == b"cache-control" for name, _ in headers):
            headers.append((b"cache-control", b"no-store"))
        message["headers"] = headers

    return security_headers
