"""Task visibility and reading.

Who sees a task: chiefs and admins all; an inspector the tasks of their team; a unit
account its own unit's tasks, except those of a draw that holds an unannounced visit to the
unit not yet done (submitted or reviewed): it must not learn of the visit in any way, and an
announced task of the same draw (a file review beside the visit, same window, often the same
team) would tell it one is coming. They are a 404 like a missing task.
"""

from __future__ import annotations

import uuid
from typing import Any, Sequence

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, select, true
from sqlalchemy.orm import aliased
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import NotFound
from api.models import Unit
from api.models_draws import Task, TaskInspector
from api.schemas.plans import TaskOut
from api.security import Principal

__all__ = ["DONE_STATUSES", "get_task", "known_to_unit", "pending_unannounced", "task_out", "task_page", "visible_tasks"]

DONE_STATUSES = ("submitted", "reviewed")


async def pending_unannounced(session: AsyncSession, draw_ids: Sequence[uuid.UUID] | Select[Any]) -> dict[uuid.UUID, int]:
    """Per draw, its unannounced visits not done yet. Publishing a draw shows its whole record
    (units, teams) to every account, the units' own included: while this is not empty, that
    would announce those visits."""
    rows = await session.execute(
        select(Task.draw_id, func.count()).where(Task.draw_id.in_(draw_ids), Task.unannounced.is_(True),
                                                 Task.status.not_in(DONE_STATUSES)).group_by(Task.draw_id))
    return {draw_id: count for draw_id, count in rows.all()}


def known_to_unit(task: Any = Task) -> ColumnElement[bool]:
    """True for a task its unit may know of: no unannounced visit of the task's draw to the
    task's unit is still to be done (the task itself included). Evaluated when read, so tasks
    drawn before this rule (a file review stored as announced beside a visit) obey it too."""
    visit = aliased(Task)
    return ~exists().where(visit.draw_id == task.draw_id, visit.unit_code == task.unit_code,
                           visit.unannounced.is_(True), visit.status.not_in(DONE_STATUSES))


def visible_tasks(p: Principal) -> ColumnElement[bool]:
    if p.role in ("admin", "chief"):
        return true()
    if p.role == "inspector":
        return exists().where(and_(TaskInspector.task_id == Task.id, TaskInspector.username == p.username))
    if p.role == "unit" and p.unit_code:
        return and_(Task.unit_code == p.unit_code, known_to_unit())
    return false()


def _select() -> Select[Any]:
    return select(Task, Unit.name).join(Unit, Unit.code == Task.unit_code)


def task_out(task: Task, unit_name: str) -> TaskOut:
    return TaskOut(
        id=task.id, plan_id=task.plan_id, draw_id=task.draw_id, unit_code=task.unit_code, unit_name=unit_name,
        kind=task.kind, draw_rank=task.draw_rank, team=list(task.team), case_files=list(task.case_files),  # type: ignore[arg-type]
        due_from=task.due_from, due_to=task.due_to, unannounced=task.unannounced, status=task.status,  # type: ignore[arg-type]
        updated_at=task.updated_at,
    )


async def get_task(session: AsyncSession, p: Principal, task_id: uuid.UUID) -> TaskOut:
    row = (await session.execute(_select().where(Task.id == task_id, visible_tasks(p)))).first()
    if row is None:
        raise NotFound("No such task.", details={"task_id": str(task_id)})
    return task_out(*row)


async def task_page(session: AsyncSession, p: Principal, filters: Sequence[ColumnElement[bool]], *,
                    limit: int, offset: int, order: str = "due") -> dict[str, Any]:
    """A page of the tasks ``p`` may see; ``order`` "due" for people, "updated" for sync."""
    where = [visible_tasks(p), *filters]
    total = (await session.execute(select(func.count()).select_from(Task).where(*where))).scalar_one()
    ordering = (Task.updated_at, Task.id) if order == "updated" else (Task.due_from, Task.plan_id, Task.draw_rank, Task.kind)
    rows = (await session.execute(_select().where(*where).order_by(*ordering).limit(limit).offset(offset))).all()
    return {"items": [task_out(*r) for r in rows], "total": total, "limit": limit, "offset": offset}


async def all_tasks(session: AsyncSession, plan_id: uuid.UUID) -> list[TaskOut]:
    rows = (await session.execute(_select().where(Task.plan_id == plan_id).order_by(Task.draw_rank, Task.kind))).all()
    return [task_out(*r) for r in rows]
