"""Batch handlers of visits: check-ins (and check-outs) and task submission.

Run by the group-commit writer through :class:`api.field_ops.FieldWriter`, which mixes these
in; see api/field_ops.py for the idempotency rules they share with findings.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Sequence

from sqlalchemy import Connection, select, update

from api import audit
from api.bulk_insert import insert_new
from api.db import utcnow
from api.errors import ApiError, Conflict
from api.field_common import CHECK_INS, DONE_TASK, OPEN_TASK, TASKS, body_digest, statuses, team_task
from api.field_facts import FieldFacts, UnitFacts
from api.group_commit import Journaled
from api.logs import REQUEST_ID
from api.schemas.field import CheckInCreate, CheckInOut
from api.security import Principal
from api.settings import Settings
from evidence import haversine_m

__all__ = ["CheckInOp", "SubmitOp", "VisitHandlers", "check_in_out"]


# Each operation keeps the id of the request that queued it (read when the operation is
# made, in that request's context): the batch runs later, in the writer's context.


@dataclass(frozen=True, slots=True)
class CheckInOp:
    principal: Principal
    task_id: uuid.UUID
    data: CheckInCreate
    request_id: str | None = field(default_factory=REQUEST_ID.get)


@dataclass(frozen=True, slots=True)
class SubmitOp:
    principal: Principal
    task_id: uuid.UUID
    request_id: str | None = field(default_factory=REQUEST_ID.get)


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
                # The team first: a copy of another team's check-in learns nothing of it.
                task = team_task(op.principal, op.task_id, tasks)
                if op.data.id in existing or op.data.id in seen:
                    stored = existing[op.data.id].body_sha256 if op.data.id in existing else seen[op.data.id]
                    if stored != digest:
                        raise Conflict("This check-in id is already used for a different check-in.", code="CHECK_IN_ID_REUSED",
                                       details={"id": str(op.data.id)})
                    outcomes.append(("existing", op.data.id))
                    continue
                if current[task.id] in DONE_TASK:
                    raise Conflict("The task is submitted; check-ins are closed.", code="TASK_SUBMITTED")
                rows.append(self._check_in_row(op, digest, units.get(task.unit_code), now))
                seen[op.data.id] = digest
                if op.data.kind == "in" and current[task.id] == "assigned":
                    started.add(task.id)
                outcomes.append(("new", op.data.id))
            except ApiError as exc:
                outcomes.append(exc)
        inserted: set[uuid.UUID] = set()
        if rows:
            inserted = insert_new(connection, CHECK_INS, rows)
        if started:
            started = set(connection.execute(update(TASKS).where(TASKS.c.id.in_(started), TASKS.c.status == "assigned")
                                              .values(status="in_progress", updated_at=now).returning(TASKS.c.id)).scalars())
        ids = {o[1] for o in outcomes if isinstance(o, tuple)}
        stored = {r.id: r for r in connection.execute(select(CHECK_INS).where(CHECK_INS.c.id.in_(ids))).all()} if ids else {}
        results: list[Any] = []
        for op, o in zip(ops, outcomes):
            if not isinstance(o, tuple):
                results.append(o)
                continue
            out = check_in_out(stored[o[1]])
            journal = self._check_in_events(op, out, started, now) if o[0] == "new" and o[1] in inserted else []
            results.append(Journaled((out, o[0] == "new"), journal) if journal else (out, o[0] == "new"))
        return results

    @staticmethod
    def _check_in_events(op: CheckInOp, out: CheckInOut, started: set[uuid.UUID], now: Any) -> list[dict[str, Any]]:
        """The check-in, and the start of its task if this check-in started it (the first of a
        batch to name a task is credited with it)."""
        actor = op.principal.username
        events = [audit.event(actor, "check_in.created", "check_in", out.id, None,
                              {"task_id": out.task_id, "kind": out.kind, "distance_m": out.distance_m, "flags": out.flags},
                              request_id=op.request_id, at=now)]
        if op.data.kind == "in" and op.task_id in started:
            started.discard(op.task_id)
            events.append(audit.event(actor, "task.started", "task", op.task_id, {"status": "assigned"},
                                      {"status": "in_progress"}, request_id=op.request_id, at=now))
        return events

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
        if data.accuracy_m > self.settings.checkin_radius_m:
            # The allowed distance grows with the accuracy reported, so a fix this coarse (or a
            # client claiming one) places the inspector nowhere: the chief should know.
            flags.append("poor_fix")
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
        closing: dict[uuid.UUID, SubmitOp] = {}  # each task with the first operation closing it
        for op in ops:
            try:
                task = team_task(op.principal, op.task_id, tasks)
                if current[task.id] in OPEN_TASK:
                    closing.setdefault(task.id, op)
                outcomes.append(task.id)
            except ApiError as exc:
                outcomes.append(exc)
        if not closing:
            return outcomes
        now = utcnow()
        closed = set(connection.execute(update(TASKS).where(TASKS.c.id.in_(closing), TASKS.c.status.in_(OPEN_TASK))
                                        .values(status="submitted", updated_at=now).returning(TASKS.c.id)).scalars())
        # A repeated submission changes nothing and records nothing.
        for index, (op, outcome) in enumerate(zip(ops, outcomes)):
            if outcome in closed and closing.get(outcome) is op:
                event = audit.event(op.principal.username, "task.submitted", "task", outcome, {"status": current[outcome]},
                                    {"status": "submitted"}, request_id=op.request_id, at=now)
                outcomes[index] = Journaled(outcome, [event])
        return outcomes


def check_in_out(row: Any) -> CheckInOut:
    return CheckInOut(id=row.id, task_id=row.task_id, inspector=row.inspector, kind=row.kind,  # type: ignore[arg-type]
                      lat=row.lat, lon=row.lon, accuracy_m=row.accuracy_m, device_time=row.device_time,
                      server_time=row.server_time, distance_m=row.distance_m, flags=list(row.flags))
