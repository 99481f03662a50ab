"""The audit log: every state change of the API (registry, accounts, catalogs, periods, plans
and draws, field work, evidence, review, appeals), with who, when, what, the state before and
after, and the request id that carried it (also in the logs). Rows are only ever added, in
the transaction of the change they describe. Functions never commit.

Two ways in: :func:`record` adds an ORM row to a session; the group-commit writer builds rows
with :func:`event` and writes a whole batch's with :func:`write` (one multi-row insert).
``before``/``after`` hold only the fields that changed, never secrets (no password hashes,
no tokens).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping, Sequence

import msgspec
from sqlalchemy import ColumnElement, Connection, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.bulk_insert import insert_rows
from api.db import utcnow
from api.errors import ValidationFailed
from api.logs import REQUEST_ID
from api.models_review import AuditEvent
from api.schemas.review import AuditOut

__all__ = ["CLI", "SYSTEM", "audit_page", "changes", "export_rows", "event", "record", "record_changes", "write"]

SYSTEM = "system"
"""The actor of changes no person asked for over HTTP (the demo loader, a login lockout)."""
CLI = "cli"
"""The actor of changes made with the ``spotcheck`` command."""
TABLE = AuditEvent.__table__


def _json(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    # Dates, UUIDs and tuples become JSON text and lists, as the API shows them.
    return None if values is None else msgspec.to_builtins(dict(values))


def event(actor: str, action: str, object_type: str, object_id: object, before: Mapping[str, Any] | None,
          after: Mapping[str, Any] | None, *, request_id: str | None, at: datetime) -> dict[str, Any]:
    """One audit row as a dict for a Core insert; ``request_id`` is the one of the request that
    asked for the change (the group-commit writer runs after that request's context)."""
    return {"at": at, "actor": actor, "action": action, "object_type": object_type, "object_id": str(object_id),
            "before": _json(before), "after": _json(after), "request_id": request_id}


def record(session: AsyncSession, actor: str, action: str, object_type: str, object_id: object,
           before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> None:
    """Add one audit event to the session's transaction, tagged with the current request id."""
    session.add(AuditEvent(**event(actor, action, object_type, object_id, before, after,
                                   request_id=REQUEST_ID.get(), at=utcnow())))


def write(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows made by :func:`event` in one statement (executemany)."""
    insert_rows(connection, TABLE, rows)


def changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(before, after)`` of the keys of ``new`` whose value differs from ``old``'s."""
    changed = [k for k in new if old.get(k) != new[k]]
    return {k: old.get(k) for k in changed}, {k: new[k] for k in changed}


def record_changes(session: AsyncSession, actor: str, action: str, object_type: str, object_id: object,
                   old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Record the fields of ``new`` that differ from ``old``; nothing (False) if none does."""
    before, after = changes(old, new)
    if after:
        record(session, actor, action, object_type, object_id, before, after)
    return bool(after)


async def audit_page(session: AsyncSession, filters: list[ColumnElement[bool]], *, limit: int, offset: int) -> dict[str, Any]:
    total = (await session.execute(select(func.count()).select_from(AuditEvent).where(*filters))).scalar_one()
    rows = (await session.execute(select(AuditEvent).where(*filters).order_by(AuditEvent.id).limit(limit).offset(offset))).scalars()
    return {"items": [_out(r) for r in rows], "total": total, "limit": limit, "offset": offset}


async def export_rows(session: AsyncSession, filters: list[ColumnElement[bool]], *, max_rows: int) -> list[dict[str, Any]]:
    """Every matching event, oldest first, as rows for an export (before/after as JSON text);
    a 422 ``EXPORT_TOO_LARGE`` when more than ``max_rows`` match, rather than a silent cut."""
    total = (await session.execute(select(func.count()).select_from(TABLE).where(*filters))).scalar_one()
    if total > max_rows:
        raise ValidationFailed(f"{total} events match; an export holds at most {max_rows}: narrow it with since, "
                               "until, actor, action or object filters.", code="EXPORT_TOO_LARGE",
                               details={"total": total, "max_rows": max_rows})
    # Columns, not ORM objects: a large export should not hold an identity map too. The limit
    # holds the cap even if events were added since the count.
    query = select(TABLE).where(*filters).order_by(TABLE.c.id).limit(max_rows)
    return [{"at": r.at.isoformat(), "actor": r.actor, "action": r.action, "object_type": r.object_type,
             "object_id": r.object_id, "before": _text(r.before), "after": _text(r.after), "request_id": r.request_id}
            for r in await session.execute(query)]


def _text(values: dict[str, Any] | None) -> str | None:
    return None if values is None else msgspec.json.encode(values).decode()


def _out(r: AuditEvent) -> AuditOut:
    return AuditOut(id=r.id, at=r.at, actor=r.actor, action=r.action, object_type=r.object_type, object_id=r.object_id,
                    before=r.before, after=r.after, request_id=r.request_id)
