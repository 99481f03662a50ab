"""Helpers for audit tests: what one request added to the log, read from the database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.models_review import AuditEvent

__all__ = ["Event", "Log"]


@dataclass(frozen=True)
class Event:
    actor: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None


class Log:
    """The audit log as seen by a test: ``await log.new()`` returns the events added since
    the previous call (or since the log was made), oldest first."""

    def __init__(self, db: async_sessionmaker[AsyncSession]) -> None:
        self.db = db
        self.seen = 0

    async def start(self) -> "Log":
        async with self.db() as session:
            self.seen = (await session.execute(select(func.coalesce(func.max(AuditEvent.id), 0)))).scalar_one()
        return self

    async def new(self) -> list[Event]:
        async with self.db() as session:
            rows = (await session.execute(select(AuditEvent).where(AuditEvent.id > self.seen).order_by(AuditEvent.id))).scalars().all()
        if rows:
            self.seen = rows[-1].id
        return [Event(r.actor, r.action, r.object_type, r.object_id, r.before, r.after, r.request_id) for r in rows]

    async def actions(self) -> list[tuple[str, str, str]]:
        """``(actor, action, object_id)`` of the new events."""
        return [(e.actor, e.action, e.object_id) for e in await self.new()]
