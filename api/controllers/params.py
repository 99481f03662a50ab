"""Query parameters shared by list endpoints."""

from __future__ import annotations

from typing import Annotated, Any, get_args

from litestar.params import PathParameter, QueryParameter
from msgspec import Meta

from api.schemas.common import Code, Username
from api.schemas.registry import Label
from scoring.model import Code as CatalogCode

__all__ = ["CatalogCodeFilter", "CodeFilter", "FileName", "IntId", "LabelFilter", "Limit", "Offset", "Search",
           "UsernameFilter", "optional_filter"]

# Bounded so no value can overflow a database integer (SQLite and PostgreSQL bigint alike).
MAX_OFFSET = 2**31 - 1

Limit = Annotated[int, QueryParameter(ge=1, le=500, description="Page size (1-500)")]
Offset = Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET, description="Rows to skip")]
Search = Annotated[str | None, QueryParameter(min_length=1, max_length=100, description="Substring of code or name")]
IntId = Annotated[int, PathParameter(ge=1, le=MAX_OFFSET, description="Numeric id")]
FileName = Annotated[str | None, QueryParameter(
    min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f/\\]+$",
    description="Name of the file sent as the body (no folders), recorded in the audit log with its SHA-256")]


def optional_filter(kind: Any, description: str) -> Any:
    """``kind | None`` as a query parameter that keeps the constraints of ``kind``
    (``Annotated[str, Meta(...)]``).

    Litestar drops the msgspec constraints of a type inside a union (``Code | None``;
    litestar-org/litestar#5031): a filter breaking them was read, matched nothing and gave
    an empty page instead of a 422 naming the parameter. Constraints given to the query
    parameter itself are enforced.
    """
    base, *extras = get_args(kind)
    meta = next(m for m in extras if isinstance(m, Meta))
    return Annotated[base | None, QueryParameter(min_length=meta.min_length, max_length=meta.max_length,
                                                 pattern=meta.pattern, description=description)]


CodeFilter = optional_filter(Code, "Code of a unit, period or case file")
UsernameFilter = optional_filter(Username, "Username")
CatalogCodeFilter = optional_filter(CatalogCode, "Code of a catalog, indicator or metric")
LabelFilter = optional_filter(Label, "Exact value")
