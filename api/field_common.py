"""What the field write handlers share: tables, error helpers, task state."""

from __future__ import annotations

import hashlib
import uuid

import msgspec
from sqlalchemy import Connection, bindparam, select

from api.db import json_text
from api.errors import NotFound, ValidationFailed
from api.field_facts import TaskFacts
from api.models_draws import Plan, Task
from api.models_evidence import Evidence
from api.models_field import CheckIn, Finding
from api.models_scoring import Deduction, Period
from api.security import Principal

__all__ = [
    "CHECK_INS", "DEDUCTIONS", "DONE_TASK", "EVIDENCE", "FINDINGS", "OPEN_TASK", "PERIODS", "PLANS", "TASKS",
    "bad", "body_digest", "no_task", "statuses", "task_state", "team_task",
]

OPEN_TASK = ("assigned", "in_progress")
DONE_TASK = ("submitted", "reviewed")
FINDINGS = Finding.__table__
CHECK_INS = CheckIn.__table__
DEDUCTIONS = Deduction.__table__
TASKS = Task.__table__
EVIDENCE = Evidence.__table__
PLANS = Plan.__table__
PERIODS = Period.__table__


def body_digest(data: msgspec.Struct, *extra: str) -> str:
    """SHA-256 of the decoded body (so key order and defaults spelled out do not matter)."""
    return hashlib.sha256(msgspec.json.encode(data) + "".join(extra).encode()).hexdigest()


def bad(path: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"Invalid input: {path}: {message}", details=[{"path": path, "message": message}])


def no_task(task_id: uuid.UUID) -> NotFound:
    return NotFound("No such task.", details={"task_id": str(task_id)})


def team_task(principal: Principal, task_id: uuid.UUID, tasks: dict[uuid.UUID, TaskFacts]) -> TaskFacts:
    task = tasks.get(task_id)
    # An inspector off the team must not learn the task exists: 404, as for a missing one.
    if task is None or principal.username not in task.team:
        raise no_task(task_id)
    return task


_TASKS_BY_ID = (select(TASKS.c.id, TASKS.c.status, PLANS.c.period)
                .select_from(TASKS.join(PLANS, PLANS.c.id == TASKS.c.plan_id))
                .where(TASKS.c.id.in_(bindparam("ids", expanding=True))).order_by(TASKS.c.id))
_TASKS_LOCKED = _TASKS_BY_ID.with_for_update(of=TASKS)
_PERIODS_SHARED = (select(PERIODS.c.code, PERIODS.c.status).where(PERIODS.c.code.in_(bindparam("codes", expanding=True)))
                   .order_by(PERIODS.c.code).with_for_update(read=True))
# Run for every batch of findings: plain text whose ids travel as one JSON array, so it is
# never compiled again, whatever the number of tasks.
_SQLITE_TASKS_WITH_PERIODS = (
    f"SELECT t.id, t.status, p.period, r.status FROM {TASKS.name} AS t JOIN {PLANS.name} AS p ON p.id = t.plan_id "
    f"LEFT OUTER JOIN {PERIODS.name} AS r ON r.code = p.period WHERE t.id IN (SELECT value FROM json_each(?))"
)


def task_state(connection: Connection, ids: set[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str | None]]:
    """Each task's status and its period's status, the two facts that change. On PostgreSQL
    task rows are locked (in id order, so two writers never deadlock) so that a submission
    cannot slip in between, and period rows are share-locked so that a concurrent lock of the
    period waits for this batch or is seen by it. SQLite writers take turns (the batch holds
    the database's write lock), so there one query reads both."""
    if not ids:
        return {}
    if connection.dialect.name == "sqlite":
        keys = {task_id.hex: task_id for task_id in ids}  # how SQLite stores a UUID
        rows = connection.exec_driver_sql(_SQLITE_TASKS_WITH_PERIODS, (json_text(list(keys)),)).all()
        return {keys[key]: (status, period_status if period is not None else None)
                for key, status, period, period_status in rows}
    tasks = connection.execute(_TASKS_LOCKED, {"ids": list(ids)}).all()
    codes = sorted({period for _, _, period in tasks if period is not None})
    periods = dict(connection.execute(_PERIODS_SHARED, {"codes": codes}).all()) if codes else {}
    return {task_id: (status, periods.get(period) if period is not None else None) for task_id, status, period in tasks}


def statuses(connection: Connection, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each task's status, the rows locked as in :func:`task_state`."""
    return {task_id: state[0] for task_id, state in task_state(connection, ids).items()}
