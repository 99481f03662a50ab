"""One page of a listing: the rows of a query window and how many match in all."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["page_of"]


async def page_of(
    session: AsyncSession,
    model: type[Any],
    filters: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    out: Callable[[Any], Any],
    *,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """``{"items", "total", "limit", "offset"}`` for :class:`api.schemas.common.Page`."""
    total = (await session.execute(select(func.count()).select_from(model).where(*filters))).scalar_one()
    rows = (await session.execute(select(model).where(*filters).order_by(*order_by).limit(limit).offset(offset))).scalars()
    return {"items": [out(r) for r in rows], "total": total, "limit": limit, "offset": offset}
