"""Query parameters shared by list endpoints."""

from __future__ import annotations

from typing import Annotated

from litestar.params import PathParameter, QueryParameter

__all__ = ["IntId", "Limit", "Offset", "Search"]

# Bounded so no value can overflow a database integer (SQLite and PostgreSQL bigint alike).
MAX_OFFSET = 2**31 - 1

Limit = Annotated[int, QueryParameter(ge=1, le=500, description="Page size (1-500)")]
Offset = Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET, description="Rows to skip")]
Search = Annotated[str | None, QueryParameter(min_length=1, max_length=100, description="Substring of code or name")]
IntId = Annotated[int, PathParameter(ge=1, le=MAX_OFFSET, description="Numeric id")]
