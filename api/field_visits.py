"""Batch handlers of visits: check-ins (and check-outs) and task submission.

Run by the group-commit writer through :class:`api.field_ops.FieldWriter`, which mixes these
in; see api/field_ops.py for the idempotency rules they share with findings.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Sequence

from sqlalchemy import Connection, select, update

from api.db import utcnow
from api.errors import ApiError, Conflict
from api.field_common import CHECK_INS, DONE_TASK, OPEN_TASK, TASKS, body_digest, insert_or_ignore, statuses, team_task
from api.field_facts import FieldFacts, UnitFacts
from api.schemas.field import CheckInCreate, CheckInOut
from api.security import Principal
from api.settings import Settings
from evidence import haversine_m

__all__ = ["CheckInOp", "SubmitOp", "VisitHandlers", "check_in_out"]


@dataclass(frozen=True, slots=True)
class CheckInOp:
    principal: Principal
    task_id: uuid.UUID
    data: CheckInCreate


@dataclass(frozen=True, slots=True)
class SubmitOp:
    principal: Principal
    task_id: uuid.UUID


class VisitHandlers:
    settings: Settings
    facts: FieldFacts

    # -- check-ins ---------------------------------------------------------------------------

    def check_ins(self, connection: Connection, ops: Sequence[CheckInOp]) -> list[Any]:
        digests = [body_digest(op.data, str(op.task_id)) for op in ops]
        existing = {r.id: r for r in connection.execute(
            select(CHECK_INS.c.id, CHECK_INS.c.body_sha256).where(CHECK_INS.c.id.in_({op.data.id for op in ops}))).all()}
        tasks = self.facts.tasks(connection, {op.task_id for op in ops})
        current = statuses(connection, set(tasks))
        units = self.facts.units(connection, {t.unit_code for t in tasks.values()})
        now = utcnow()
        outcomes: list[Any] = []
        rows: list[dict[str, Any]] = []
        started: set[uuid.UUID] = set()
        seen: dict[uuid.UUID, str] = {}
        for op, digest in zip(ops, digests):
            try:
                if op.data.id in existing or op.data.id in seen:
                    stored = existing[op.data.id].body_sha256 if op.data.id in existing else seen[op.data.id]
                    if stored != digest:
                        raise Conflict("This check-in id is already used for a different check-in.", code="CHECK_IN_ID_REUSED")
                    outcomes.append(("existing", op.data.id))
                    continue
                task = team_task(op.principal, op.task_id, tasks)
                if current[task.id] in DONE_TASK:
                    raise Conflict("The task is submitted; check-ins are closed.", code="TASK_SUBMITTED")
                rows.append(self._check_in_row(op, digest, units.get(task.unit_code), now))
                seen[op.data.id] = digest
                if op.data.kind == "in" and current[task.id] == "assigned":
                    started.add(task.id)
                outcomes.append(("new", op.data.id))
            except ApiError as exc:
                outcomes.append(exc)
        if rows:
            connection.execute(insert_or_ignore(connection, CHECK_INS), rows)
        if started:
            connection.execute(update(TASKS).where(TASKS.c.id.in_(started), TASKS.c.status == "assigned")
                               .values(status="in_progress", updated_at=now))
        ids = {o[1] for o in outcomes if isinstance(o, tuple)}
        stored = {r.id: r for r in connection.execute(select(CHECK_INS).where(CHECK_INS.c.id.in_(ids))).all()} if ids else {}
        return [o if not isinstance(o, tuple) else (check_in_out(stored[o[1]]), o[0] == "new") for o in outcomes]

    def _check_in_row(self, op: CheckInOp, digest: str, unit: UnitFacts | None, now: Any) -> dict[str, Any]:
        data = op.data
        flags: list[str] = []
        distance = None
        if unit is None or unit.lat is None or unit.lon is None:
            flags.append("no_unit_position")
        else:
            distance = round(haversine_m(data.lat, data.lon, unit.lat, unit.lon), 1)
            if distance > self.settings.checkin_radius_m + data.accuracy_m:
                flags.append("far_from_unit")
        if abs(data.device_time - now) > timedelta(seconds=self.settings.clock_skew_seconds):
            flags.append("clock_skew")
        return {"id": data.id, "task_id": op.task_id, "inspector": op.principal.username, "kind": data.kind,
                "lat": data.lat, "lon": data.lon, "accuracy_m": data.accuracy_m, "device_time": data.device_time,
                "server_time": now, "distance_m": distance, "flags": flags, "body_sha256": digest}

    # -- submissions -------------------------------------------------------------------------

    def submissions(self, connection: Connection, ops: Sequence[SubmitOp]) -> list[Any]:
        tasks = self.facts.tasks(connection, {op.task_id for op in ops})
        current = statuses(connection, set(tasks))
        outcomes: list[Any] = []
        closing: set[uuid.UUID] = set()
        for op in ops:
            try:
                task = team_task(op.principal, op.task_id, tasks)
                if current[task.id] in OPEN_TASK:
                    closing.add(task.id)
                outcomes.append(task.id)
            except ApiError as exc:
                outcomes.append(exc)
        if closing:
            connection.execute(update(TASKS).where(TASKS.c.id.in_(closing), TASKS.c.status.in_(OPEN_TASK))
                               .values(status="submitted", updated_at=utcnow()))
        return outcomes


def check_in_out(row: Any) -> CheckInOut:
    return CheckInOut(id=row.id, task_id=row.task_id, inspector=row.inspector, kind=row.kind,  # type: ignore[arg-type]
                      lat=row.lat, lon=row.lon, accuracy_m=row.accuracy_m, device_time=row.device_time,
                      server_time=row.server_time, distance_m=row.distance_m, flags=list(row.flags))
