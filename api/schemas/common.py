"""Shared field types and the page envelope."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

import msgspec
from msgspec import Meta

__all__ = ["Body", "Code", "Page", "Password", "PRINTABLE", "Text", "Username"]

T = TypeVar("T")

# Codes travel in URL paths, so no slashes, no whitespace, no control characters.
# Control characters have no place in names; PostgreSQL refuses NUL in text outright.
PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Code = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[^\s/\\\x00-\x1f\x7f]+$")]
Username = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Password = Annotated[str, Meta(min_length=8, max_length=256)]
Text = Annotated[str, Meta(min_length=1, max_length=200, pattern=PRINTABLE)]


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body."""


class Page(msgspec.Struct, Generic[T], kw_only=True):
    items: list[T]
    total: int
    limit: int
    offset: int
