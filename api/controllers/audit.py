"""The audit log, read by chiefs and admins."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from api import audit
from api.controllers.params import Limit, Offset
from api.deps import DB
from api.errors import ValidationFailed
from api.models_review import AuditEvent
from api.schemas.common import Code, Page, Username
from api.schemas.review import AuditOut
from api.security import requires

__all__ = ["AuditController"]

Action = Annotated[str, QueryParameter(min_length=1, max_length=64, pattern=r"^[a-z_.]+$")]
ObjectType = Annotated[str, QueryParameter(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]


def _instant(name: str, value: datetime) -> datetime:
    """An aware instant in UTC; a time without offset, or one out of range, is a 422."""
    try:
        if value.tzinfo is None:
            raise ValueError("give a time zone offset, e.g. 2026-11-21T08:00:00+08:00")
        return value.astimezone(timezone.utc)
    except (ValueError, OverflowError) as exc:
        message = str(exc) if isinstance(exc, ValueError) else "out of range"
        raise ValidationFailed(f"Invalid input: {name}: {message}", details=[{"path": name, "message": message}]) from None


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["review"]

    @get("/", operation_id="listAudit", guards=[requires("admin", "chief")], summary="The audit log, oldest first",
         description="Every state change of periods, decisions, notices and appeals: who, when, what, the state "
                     "before and after, and the request id (X-Request-ID, also in the logs).")
    async def list_audit(self, db: DB, actor: FromQuery[Username | None] = None, action: FromQuery[Action | None] = None,
                         object_type: FromQuery[ObjectType | None] = None, object_id: FromQuery[Code | None] = None,
                         since: FromQuery[datetime | None] = None, until: FromQuery[datetime | None] = None,
                         limit: Limit = 50, offset: Offset = 0) -> Page[AuditOut]:
        filters = []
        if actor is not None:
            filters.append(AuditEvent.actor == actor)
        if action is not None:
            filters.append(AuditEvent.action == action)
        if object_type is not None:
            filters.append(AuditEvent.object_type == object_type)
        if object_id is not None:
            filters.append(AuditEvent.object_id == object_id)
        if since is not None:
            filters.append(AuditEvent.at >= _instant("since", since))
        if until is not None:
            filters.append(AuditEvent.at < _instant("until", until))
        return Page(**await audit.audit_page(db, filters, limit=limit, offset=offset))
