"""Conditional GETs: does an ``If-None-Match`` header name the current entity tag?"""

from __future__ import annotations

__all__ = ["etag_matches"]


def etag_matches(if_none_match: str | None, tag: str) -> bool:
    """Whether ``if_none_match`` names ``tag`` (the opaque part, without quotes or ``W/``).

    RFC 9110 compares weakly for If-None-Match: ``W/"x"`` and ``"x"`` match, a header may
    list several tags, and ``*`` matches any current entity. A phone or a cache sending the
    list or the strong form of the tag it holds then gets the 304 it asked for."""
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/").strip('"') for t in if_none_match.split(",")}
    return "*" in tags or tag in tags
