"""Query parameters shared by list endpoints."""

from __future__ import annotations

from typing import Annotated

from litestar.params import PathParameter, QueryParameter

__all__ = ["FileName", "IntId", "Limit", "Offset", "Search"]

# Bounded so no value can overflow a database integer (SQLite and PostgreSQL bigint alike).
MAX_OFFSET = 2**31 - 1

Limit = Annotated[int, QueryParameter(ge=1, le=500, description="Page size (1-500)")]
Offset = Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET, description="Rows to skip")]
Search = Annotated[str | None, QueryParameter(min_length=1, max_length=100, description="Substring of code or name")]
IntId = Annotated[int, PathParameter(ge=1, le=MAX_OFFSET, description="Numeric id")]
FileName = Annotated[str | None, QueryParameter(
    min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f/\\]+$",
    description="Name of the file sent as the body (no folders), recorded in the audit log with its SHA-256")]
