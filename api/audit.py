"""The audit log: every state change of review, appeal and period status, with who, when, what,
the state before and after, and the request id that carried it (also in the logs). Rows are
only ever added, in the transaction of the change they describe. Functions never commit.
"""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import utcnow
from api.logs import REQUEST_ID
from api.models_review import AuditEvent
from api.schemas.review import AuditOut

__all__ = ["audit_page", "record"]


def record(session: AsyncSession, actor: str, action: str, object_type: str, object_id: object,
           before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> None:
    """Add one audit event (JSON-ready ``before``/``after``: str, numbers, bools, None)."""
    session.add(AuditEvent(at=utcnow(), actor=actor, action=action, object_type=object_type, object_id=str(object_id),
                           before=None if before is None else dict(before), after=None if after is None else dict(after),
                           request_id=REQUEST_ID.get()))


async def audit_page(session: AsyncSession, filters: list[ColumnElement[bool]], *, limit: int, offset: int) -> dict[str, Any]:
    total = (await session.execute(select(func.count()).select_from(AuditEvent).where(*filters))).scalar_one()
    rows = (await session.execute(select(AuditEvent).where(*filters).order_by(AuditEvent.id).limit(limit).offset(offset))).scalars()
    items = [AuditOut(id=r.id, at=r.at, actor=r.actor, action=r.action, object_type=r.object_type, object_id=r.object_id,
                      before=r.before, after=r.after, request_id=r.request_id) for r in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset}
