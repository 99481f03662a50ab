"""The audit log, read and exported by chiefs and admins, with one set of filters."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from litestar import Controller, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, QueryParameter
from sqlalchemy import ColumnElement

from api import audit
from api.accounts import named
from api.controllers.params import Limit, Offset, UsernameFilter
from api.deps import DB, AppSettings
from api.errors import ValidationFailed
from api.exports import Column, ExportFormat, HeaderLanguage, export_response
from api.models_review import AuditEvent
from api.schemas.common import LINE, Page
from api.schemas.review import AuditOut
from api.security import requires

__all__ = ["AuditController"]

Action = Annotated[str | None, QueryParameter(min_length=1, max_length=64, pattern=r"^[a-z_.]+$")]
ObjectType = Annotated[str | None, QueryParameter(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]
# As the column holds it: codes, ids, "period:unit:metric", a name typed at a refused login.
ObjectId = Annotated[str | None, QueryParameter(min_length=1, max_length=100, pattern=LINE)]
Filters = NamedDependency[list[ColumnElement[bool]]]
"""The audit filters of the request's query (``filters``), shared by the list and the export."""

COLUMNS = [
    Column("at", "Time", "时间"),
    Column("actor", "Actor", "操作人"),
    Column("action", "Action", "操作"),
    Column("object_type", "Object type", "对象类型"),
    Column("object_id", "Object", "对象"),
    Column("before", "Before", "变更前"),
    Column("after", "After", "变更后"),
    Column("request_id", "Request id", "请求编号"),
]


def _instant(name: str, value: datetime) -> datetime:
    """An aware instant in UTC; a time without offset, or one out of range, is a 422."""
    try:
        if value.tzinfo is None:
            raise ValueError("give a time zone offset, e.g. 2026-11-21T08:00:00+08:00")
        return value.astimezone(timezone.utc)
    except (ValueError, OverflowError) as exc:
        message = str(exc) if isinstance(exc, ValueError) else "out of range"
        raise ValidationFailed(f"Invalid input: query.{name}: {message}", details=[{"path": f"query.{name}", "message": message}]) from None


def audit_filters(actor: UsernameFilter = None, action: Action = None,
                  object_type: ObjectType = None, object_id: ObjectId = None,
                  since: FromQuery[datetime | None] = None, until: FromQuery[datetime | None] = None) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if actor is not None:
        filters.append(named(AuditEvent.actor, actor))
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
    return filters


FILTERS = ("Filters: `actor`, `action` (e.g. `finding.created`), `object_type`, `object_id`, and the time "
           "window `since` (inclusive) to `until` (exclusive), both with a time zone offset.")


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["review"]
    guards = [requires("admin", "chief")]
    dependencies = {"filters": Provide(audit_filters, sync_to_thread=False)}

    @get("/", operation_id="listAudit", summary="The audit log, oldest first",
         description="Every state change made through the API or the CLI: who, when, what, the state before and "
                     "after, and the request id (X-Request-ID, also in the logs). " + FILTERS)
    async def list_audit(self, db: DB, filters: Filters, limit: Limit = 50, offset: Offset = 0) -> Page[AuditOut]:
        return Page(**await audit.audit_page(db, filters, limit=limit, offset=offset))

    @get("/export", operation_id="exportAudit", summary="The filtered audit log as CSV or XLSX",
         description="The same filters as the list; oldest first, before/after as JSON text. An export holds at "
                     "most SPOTCHECK_AUDIT_EXPORT_MAX_ROWS events (default 100,000): more matching events is a 422 "
                     "EXPORT_TOO_LARGE naming the count, so narrow the time window. " + FILTERS)
    async def export(self, db: DB, filters: Filters, settings: AppSettings, format: FromQuery[ExportFormat] = "xlsx",
                     lang: FromQuery[HeaderLanguage] = "zh") -> Response[bytes]:
        rows = await audit.export_rows(db, filters, max_rows=settings.audit_export_max_rows)
        return export_response(COLUMNS, rows, fmt=format, lang=lang, filename="audit", title="audit")
