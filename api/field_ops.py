"""Batch handlers of field writes, run by the group-commit writer (api/group_commit.py).

Each handler takes the operations queued in one batch, checks them with a few set-based
queries (what may change: task and period status; what may not comes from FieldFacts),
writes the good ones with lean inserts, and returns one outcome per operation: a result,
or the ApiError for that operation alone.

Idempotency: the phone creates every id. A repeated operation (same id, same body) returns
the stored record; the same id with another body is a 409. Inserts use ON CONFLICT DO
NOTHING, so two workers racing on one id cannot store it twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Sequence

import msgspec
from sqlalchemy import Connection, select, update

from api import audit
from api.bulk_insert import insert_new, insert_rows
from api.db import utcnow
from api.errors import ApiError, Conflict, NotFound
from api.field_common import (
    DEDUCTIONS, EVIDENCE, FINDINGS, OPEN_TASK, bad, body_digest, task_state, team_task,
)
from api.field_facts import FieldFacts, PeriodFacts, TaskFacts, UnitFacts
from api.field_visits import VisitHandlers
from api.group_commit import Journaled
from api.logs import REQUEST_ID
from api.schemas.field import FindingCreate, FindingOut
from api.security import Principal
from api.settings import Settings
from scoring import Finding as ScoredFinding
from scoring import Catalog, Indicator, ScoringError, propose
from scoring import Unit as ScoredUnit

__all__ = ["EditOp", "FieldWriter", "FindingOp", "Prepared", "finding_out"]

DEDUCTION_NAMESPACE = uuid.UUID("5b0d3a52-58f4-4d39-9d0c-2f1f6f3c7a11")
# What an edit may change, and what a new finding's audit event shows.
EDITABLE = ("indicator", "count", "quantity", "level", "achievement", "note", "case_file", "staff", "evidence_ids",
            "charged_unit")
FINDING_FIELDS = ("task_id", *EDITABLE, "supersedes", "deduction_id", "points")


@dataclass(frozen=True, slots=True)
class Prepared:
    """A new finding's rows, answer and audit events, computed before the writer's turn; or
    the refusal those checks gave."""

    digest: str
    outcome: tuple[dict[str, Any], dict[str, Any], FindingOut, list[dict[str, Any]]] | ApiError


@dataclass(slots=True, eq=False)
class FindingOp:
    principal: Principal
    data: FindingCreate
    request_id: str | None = field(default_factory=REQUEST_ID.get)  # of the request that queued it
    prepared: Prepared | None = None  # set by FieldWriter.prepare when the op is queued


@dataclass(frozen=True, slots=True)
class EditOp:
    principal: Principal
    finding_id: uuid.UUID
    changes: dict[str, Any]
    request_id: str | None = field(default_factory=REQUEST_ID.get)


def finding_out(row: Any, points: float | None) -> FindingOut:
    return FindingOut(
        id=row.id, task_id=row.task_id, inspector=row.inspector, indicator=row.indicator, count=row.count,
        quantity=row.quantity, level=row.level, achievement=row.achievement, note=row.note, case_file=row.case_file,
        staff=list(row.staff), evidence_ids=[uuid.UUID(str(e)) for e in row.evidence_ids], recorded_at=row.recorded_at,
        received_at=row.created_at, supersedes=row.supersedes, superseded_by=row.superseded_by,
        charged_unit=row.charged_unit, deduction_id=row.deduction_id, points=points, updated_at=row.updated_at,
    )


def _written_out(data: FindingCreate, row: dict[str, Any], points: float) -> FindingOut:
    """The answer for a finding written now, from the values written (no read-back)."""
    return FindingOut(
        id=data.id, task_id=row["task_id"], inspector=row["inspector"], indicator=data.indicator, count=data.count,
        quantity=data.quantity, level=data.level, achievement=data.achievement, note=data.note, case_file=data.case_file,
        staff=row["staff"], evidence_ids=list(data.evidence_ids), recorded_at=data.recorded_at, received_at=row["created_at"],
        supersedes=data.supersedes, superseded_by=None, charged_unit=row["charged_unit"], deduction_id=row["deduction_id"],
        points=points, updated_at=row["updated_at"],
    )


class FieldWriter(VisitHandlers):
    """The batch handlers of field writes (findings and edits here, check-ins and
    submissions in :class:`api.field_visits.VisitHandlers`), sharing one worker's
    FieldFacts and the settings."""

    def __init__(self, settings: Settings, facts: FieldFacts) -> None:
        self.settings = settings
        self.facts = facts

    def handlers(self) -> dict[str, Any]:
        return {"finding": self.findings, "check_in": self.check_ins, "submit": self.submissions, "edit": self.edits}

    def preparers(self) -> dict[str, Any]:
        return {"finding": self.prepare}

    def prepare(self, op: FindingOp) -> None:
        """Work out a new finding's rows, answer and audit events as it is queued, from cached
        facts only (what never changes about its task, period, catalog and units).

        The writer's turn holds the database's write lock, so whatever can be done before it
        is done here: the turn then only checks what may change (task and period status,
        photos, the id) and writes. A finding that supersedes another, or whose facts are not
        cached yet, is worked out in the turn as before.
        """
        data = op.data
        known = self.facts.known(data.task_id) if data.supersedes is None else None
        if known is None:
            return
        task, period, (catalog, indicators), units = known
        digest = body_digest(data)
        now = utcnow()
        try:
            row, deduction = self._rows(op, digest, task, period, catalog, indicators, units, now)
        except ApiError as exc:
            op.prepared = Prepared(digest, exc)
            return
        out = _written_out(data, row, deduction["points"])
        op.prepared = Prepared(digest, (row, deduction, out, self._finding_events(op, out, {}, now)))

    def findings(self, connection: Connection, ops: Sequence[FindingOp]) -> list[Any]:
        digests = [op.prepared.digest if op.prepared else body_digest(op.data) for op in ops]
        tasks = self.facts.tasks(connection, {op.data.task_id for op in ops})
        state = task_state(connection, set(tasks))
        periods = self.facts.periods(connection, {t.period for t in tasks.values() if t.period})
        wanted = {op.data.supersedes for op in ops if op.data.supersedes}
        targets: dict[uuid.UUID, Any] = {r.id: r for r in connection.execute(
            select(FINDINGS.c.id, FINDINGS.c.task_id, FINDINGS.c.superseded_by, DEDUCTIONS.c.status.label("decided"))
            .outerjoin(DEDUCTIONS, DEDUCTIONS.c.id == FINDINGS.c.deduction_id)
            .where(FINDINGS.c.id.in_(wanted))).all()} if wanted else {}
        units = self.facts.units(connection, {t.unit_code for t in tasks.values()})
        catalogs = {code: self.facts.catalog(connection, period) for code, period in periods.items()}
        photos = self._photo_tasks(connection, {e for op in ops for e in op.data.evidence_ids})
        now = utcnow()
        outcomes: list[Any] = []
        rows: list[dict[str, Any]] = []
        deductions: list[dict[str, Any]] = []
        superseding: list[tuple[uuid.UUID, uuid.UUID]] = []
        seen: dict[uuid.UUID, str] = {}
        for op, digest in zip(ops, digests):
            data = op.data
            try:
                if data.id in seen:  # the same id twice in one batch: the second is a repeat
                    if seen[data.id] != digest:
                        raise Conflict("This finding id is already used for a different finding.",
                                       code="FINDING_ID_REUSED", details={"id": str(data.id)})
                    outcomes.append(("repeat", data.id))
                    continue
                task = team_task(op.principal, data.task_id, tasks)
                status, period_status = state[task.id]
                if status == "reviewed":
                    raise Conflict("The task has been reviewed; its findings are final.", code="TASK_REVIEWED")
                target = None
                if data.supersedes is not None:
                    target = targets.get(data.supersedes)
                    if target is None or target.task_id != task.id:
                        raise bad("$.supersedes", "no finding of this task with that id")
                    superseded_by = target.superseded_by or next((new for old, new in superseding if old == target.id), None)
                    if superseded_by is not None:
                        raise Conflict("That finding is already superseded.", code="ALREADY_SUPERSEDED",
                                       details={"superseded_by": str(superseded_by)})
                    if target.decided not in (None, "proposed"):
                        # Judged against its evidence: a correction would add a second deduction for
                        # one fact (or undo a rejection) behind the chief's back.
                        raise Conflict(f"A chief has already decided this finding's deduction ({target.decided}); a "
                                       "correction cannot replace it (the chief may reconsider it, or the unit may appeal).",
                                       code="ALREADY_DECIDED", details={"deduction_status": target.decided})
                if status == "submitted" and target is None:
                    raise Conflict("The task is submitted: findings are frozen; send a correction that supersedes one.",
                                   code="TASK_SUBMITTED")
                self._check_photos(data.evidence_ids, task.id, photos)
                period = self._open_period(task, periods, period_status)
                if op.prepared is None:
                    row, deduction = self._rows(op, digest, task, period, *catalogs[period.code], units, now)
                elif isinstance(op.prepared.outcome, ApiError):
                    raise op.prepared.outcome
                else:
                    row, deduction = op.prepared.outcome[:2]
                rows.append(row)
                deductions.append(deduction)
                if target is not None:
                    superseding.append((target.id, data.id))
                seen[data.id] = digest
                # A correction queued in the same batch as what it corrects (one sync) finds it.
                targets.setdefault(data.id, _Target(data.id, task.id, None, "proposed"))
                outcomes.append(("new", data.id))
            except ApiError as exc:
                outcomes.append(exc)
        inserted: set[uuid.UUID] = set()
        if rows:
            inserted = insert_new(connection, FINDINGS, rows)
        insert_rows(connection, DEDUCTIONS, [d for d in deductions if d["finding_id"] in inserted])
        retired: dict[uuid.UUID, dict[str, Any]] = {}  # new finding -> the after of the one it supersedes
        for old, new in superseding:
            if new not in inserted:
                continue
            connection.execute(update(FINDINGS).where(FINDINGS.c.id == old).values(superseded_by=new, updated_at=now))
            # The superseded finding's proposal no longer stands; a reviewed one is untouched.
            withdrawn = connection.execute(update(DEDUCTIONS).where(DEDUCTIONS.c.finding_id == old, DEDUCTIONS.c.status == "proposed")
                                           .values(status="rejected", updated_at=now).returning(DEDUCTIONS.c.id)).first()
            retired[new] = {"superseded_by": new, **({"deduction_status": "rejected"} if withdrawn else {})}
        by_id = {r["id"]: (r, d["points"]) for r, d in zip(rows, deductions)}
        results = self._finding_results(connection, ops, digests, outcomes, by_id, inserted, tasks)
        return [Journaled(r, self._new_finding_events(op, r[0], retired, now)) if isinstance(r, tuple) and r[1] else r
                for op, r in zip(ops, results)]

    def _new_finding_events(self, op: FindingOp, out: FindingOut, retired: dict[uuid.UUID, dict[str, Any]], now: Any) -> list[dict[str, Any]]:
        ready = op.prepared.outcome if op.prepared else None
        if isinstance(ready, tuple) and ready[2] is out:
            return ready[3]
        return self._finding_events(op, out, retired, now)

    @staticmethod
    def _finding_events(op: FindingOp, out: FindingOut, retired: dict[uuid.UUID, dict[str, Any]], now: Any) -> list[dict[str, Any]]:
        """A new finding, the one it supersedes, and the photos it cites (a repeat records nothing)."""
        actor, request_id = op.principal.username, op.request_id
        shown = msgspec.to_builtins(out)
        after = {k: v for k in FINDING_FIELDS if (v := shown[k]) is not None and v != [] and v != ""}
        events = [audit.event(actor, "finding.created", "finding", out.id, None, after, request_id=request_id, at=now)]
        if out.id in retired:
            change = retired[out.id]
            before = {"superseded_by": None, **({"deduction_status": "proposed"} if "deduction_status" in change else {})}
            events.append(audit.event(actor, "finding.superseded", "finding", out.supersedes, before, change,
                                      request_id=request_id, at=now))
        events += _photo_events(actor, request_id, out, [], out.evidence_ids, now)
        return events

    @staticmethod
    def _photo_tasks(connection: Connection, ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID | None]:
        """The task each cited photo was filed for."""
        if not ids:
            return {}
        return dict(connection.execute(select(EVIDENCE.c.id, EVIDENCE.c.task_id).where(EVIDENCE.c.id.in_(ids))).all())

    @staticmethod
    def _check_photos(ids: Sequence[uuid.UUID], task_id: uuid.UUID, photos: dict[uuid.UUID, uuid.UUID | None]) -> None:
        # A photo backs a finding of the task it was filed for: its ledger entry names that task.
        for index, evidence_id in enumerate(ids):
            if photos.get(evidence_id, "missing") != task_id:
                # One answer for an unknown photo and another task's: another team's ids stay unknown.
                raise bad(f"$.evidence_ids[{index}]", "no photo filed for this task with that id")

    def _finding_rows(self, op: FindingOp, digest: str, task: TaskFacts, periods: dict[str, PeriodFacts],
                      period_status: str | None, catalogs: dict[str, tuple[Catalog, dict[str, Indicator]]],
                      units: dict[str, UnitFacts], now: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        period = self._open_period(task, periods, period_status)
        return self._rows(op, digest, task, period, *catalogs[period.code], units, now)

    @staticmethod
    def _open_period(task: TaskFacts, periods: dict[str, PeriodFacts], period_status: str | None) -> PeriodFacts:
        if task.period is None or task.period not in periods:
            raise bad("$.task_id", "the task's plan belongs to no period, so findings cannot be scored")
        period = periods[task.period]
        if period_status != "open":
            raise Conflict(f"Period {period.code!r} is {period_status}; it takes no more findings.",
                           code="PERIOD_LOCKED", details={"period": period.code})
        return period

    def _rows(self, op: FindingOp, digest: str, task: TaskFacts, period: PeriodFacts, catalog: Catalog,
              indicators: dict[str, Indicator], units: dict[str, UnitFacts], now: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """The finding's row and its proposed deduction (checks that need no changing state)."""
        data = op.data
        indicator = indicators.get(data.indicator)
        if indicator is None:
            raise bad("$.indicator", f"no indicator {data.indicator!r} in catalog {catalog.code} v{catalog.version}")
        if indicator.task_kinds and task.kind not in indicator.task_kinds:
            raise bad("$.indicator", f"indicator {data.indicator!r} does not apply to a {task.kind} task")
        if data.case_file is not None and data.case_file not in task.case_files:
            raise bad("$.case_file", f"case file {data.case_file!r} was not sampled for this task")
        charged = self._charged_unit(period, task.unit_code, units)
        finding = ScoredFinding(id=str(data.id), unit=charged.code, indicator=data.indicator, count=data.count,
                                quantity=data.quantity, level=data.level, achievement=data.achievement, staff=tuple(data.staff))
        try:
            proposal = propose(catalog, finding, ScoredUnit(code=charged.code, tier=charged.tier))
        except ScoringError as exc:
            raise bad("$.indicator", str(exc)) from None
        # Derived from the finding: no random draw on the hot path, and stable across retries.
        deduction_id = uuid.uuid5(DEDUCTION_NAMESPACE, str(data.id))
        row = {
            "id": data.id, "task_id": task.id, "inspector": op.principal.username, "indicator": data.indicator,
            "count": data.count, "quantity": data.quantity, "level": data.level, "achievement": data.achievement,
            "note": data.note, "case_file": data.case_file, "staff": list(data.staff),
            "evidence_ids": [str(e) for e in data.evidence_ids], "recorded_at": data.recorded_at,
            "supersedes": data.supersedes, "superseded_by": None, "deduction_id": deduction_id,
            "charged_unit": charged.code, "body_sha256": digest, "created_at": now, "updated_at": now,
        }
        deduction = {
            "id": deduction_id, "period_code": period.code, "unit_code": charged.code, "indicator": data.indicator,
            "count": data.count, "quantity": data.quantity, "level": data.level, "achievement": data.achievement,
            "points": proposal.points, "effect": proposal.effect, "staff": list(data.staff), "failed_to_deduct_by": None,
            "status": "proposed", "adjusted_points": None, "finding_id": data.id, "created_by": op.principal.username,
            "created_at": now, "updated_at": now,
        }
        return row, deduction

    def _charged_unit(self, period: PeriodFacts, unit_code: str, units: dict[str, UnitFacts]) -> UnitFacts:
        """The unit a finding counts against: the visited unit if the period assesses it,
        else its nearest assessed ancestor (an entity's findings count against its office)."""
        unit = units.get(unit_code)
        while unit is not None:
            if unit.kind == period.unit_kind and (period.parent_code is None or unit.parent_code == period.parent_code):
                return unit
            unit = units.get(unit.parent_code) if unit.parent_code else None
        raise bad("$.task_id", f"neither unit {unit_code!r} nor a parent of it is assessed in period {period.code!r}")

    def _finding_results(self, connection: Connection, ops: Sequence[FindingOp], digests: list[str], outcomes: list[Any],
                         written: dict[uuid.UUID, tuple[dict[str, Any], float]], inserted: set[uuid.UUID],
                         tasks: dict[uuid.UUID, TaskFacts]) -> list[Any]:
        """Outcomes as (FindingOut, created). Stored rows are read back only for ids that were
        not written now: repeats, and operations refused here (a repeat of a stored finding
        answers that finding even if its task has frozen since, but only to the task's team:
        anyone else learns nothing from sending a copy)."""
        reread = {op.data.id for op, o in zip(ops, outcomes) if not (isinstance(o, tuple) and o[1] in inserted)}
        rows = {r.id: r for r in connection.execute(select(FINDINGS).where(FINDINGS.c.id.in_(reread))).all()} if reread else {}
        deductions = {r.deduction_id for r in rows.values() if r.deduction_id}
        points = dict(connection.execute(select(DEDUCTIONS.c.id, DEDUCTIONS.c.points).where(DEDUCTIONS.c.id.in_(deductions))).all()) if deductions else {}
        results: list[Any] = []
        for op, digest, outcome in zip(ops, digests, outcomes):
            stored = rows.get(op.data.id)
            if isinstance(outcome, tuple) and outcome[0] == "new" and outcome[1] in inserted:
                row, rule_points = written[outcome[1]]
                ready = op.prepared.outcome if op.prepared else None
                results.append((ready[2] if isinstance(ready, tuple) else _written_out(op.data, row, rule_points), True))
            elif stored is None:
                results.append(outcome)  # refused, and no such finding exists: the refusal stands
            elif _on_team(op.principal, stored.task_id, tasks) and stored.body_sha256 == digest:
                results.append((finding_out(stored, points.get(stored.deduction_id)), False))
            elif isinstance(outcome, ApiError) and not _on_team(op.principal, stored.task_id, tasks):
                results.append(outcome)  # a copy of another team's finding learns nothing of it
            else:
                results.append(Conflict("This finding id is already used for a different finding.",
                                        code="FINDING_ID_REUSED", details={"id": str(op.data.id)}))
        return results

    def edits(self, connection: Connection, ops: Sequence[EditOp]) -> list[Any]:
        """Apply edits with the checks of a new finding and recompute each proposed deduction.
        A finding may change only while its task is neither submitted nor reviewed."""
        outcomes: list[Any] = []
        for op in ops:
            try:
                outcomes.append(self._edit(connection, op))
            except ApiError as exc:
                outcomes.append(exc)
        return outcomes

    def _edit(self, connection: Connection, op: EditOp) -> FindingOut:
        row = connection.execute(select(FINDINGS).where(FINDINGS.c.id == op.finding_id)).one_or_none()
        tasks = self.facts.tasks(connection, {row.task_id}) if row is not None else {}
        # Another team's finding answers as a missing one: neither its task nor that it exists.
        if row is None or not _on_team(op.principal, row.task_id, tasks):
            raise NotFound("No such finding.", details={"id": str(op.finding_id)})
        task = tasks[row.task_id]
        status, period_status = task_state(connection, {task.id})[task.id]
        if status not in OPEN_TASK:
            raise Conflict("The task is submitted: findings are frozen; send a correction that supersedes one.",
                           code="TASK_SUBMITTED")
        if row.superseded_by is not None:
            raise Conflict("That finding is superseded: edit the one that replaced it.", code="ALREADY_SUPERSEDED",
                           details={"superseded_by": str(row.superseded_by)})
        data = msgspec.structs.replace(_as_create(row), **op.changes)
        self._check_photos(data.evidence_ids, task.id, self._photo_tasks(connection, set(data.evidence_ids)))
        periods = self.facts.periods(connection, {task.period} if task.period else set())
        catalogs = {code: self.facts.catalog(connection, period) for code, period in periods.items()}
        units = self.facts.units(connection, {task.unit_code})
        now = utcnow()
        fields, deduction = self._finding_rows(FindingOp(op.principal, data, op.request_id), row.body_sha256, task, periods,
                                               period_status, catalogs, units, now)
        changed = {k: fields[k] for k in EDITABLE}
        old_points = connection.execute(select(DEDUCTIONS.c.points).where(DEDUCTIONS.c.id == row.deduction_id)).scalar_one_or_none()
        connection.execute(update(FINDINGS).where(FINDINGS.c.id == row.id).values(updated_at=now, **changed))
        keep = ("unit_code", "indicator", "count", "quantity", "level", "achievement", "points", "effect", "staff")
        connection.execute(update(DEDUCTIONS).where(DEDUCTIONS.c.id == row.deduction_id, DEDUCTIONS.c.status == "proposed")
                           .values(updated_at=now, **{k: deduction[k] for k in keep}))
        stored = connection.execute(select(FINDINGS).where(FINDINGS.c.id == row.id)).one()
        points = connection.execute(select(DEDUCTIONS.c.points).where(DEDUCTIONS.c.id == stored.deduction_id)).scalar_one_or_none()
        out = finding_out(stored, points)
        # Only what differs is recorded; an edit that changes nothing records nothing.
        before, after = audit.changes({**{k: getattr(row, k) for k in EDITABLE}, "points": old_points},
                                      {**changed, "points": points})
        actor = op.principal.username
        events = [audit.event(actor, "finding.edited", "finding", row.id, before, after, request_id=op.request_id, at=now)] if after else []
        events += _photo_events(actor, op.request_id, out, [uuid.UUID(str(e)) for e in row.evidence_ids], out.evidence_ids, now)
        return Journaled(out, events) if events else out


class _Target(NamedTuple):
    """What a correction needs of the finding it supersedes."""

    id: uuid.UUID
    task_id: uuid.UUID
    superseded_by: uuid.UUID | None
    decided: str | None  # the status of its deduction


def _on_team(principal: Principal, task_id: uuid.UUID, tasks: dict[uuid.UUID, TaskFacts]) -> bool:
    task = tasks.get(task_id)
    return task is not None and principal.username in task.team


def _photo_events(actor: str, request_id: str | None, finding: FindingOut, old: Sequence[uuid.UUID],
                  new: Sequence[uuid.UUID], now: Any) -> list[dict[str, Any]]:
    """Photos a finding now cites (attached) or no longer cites (detached)."""
    link = {"finding_id": finding.id, "task_id": finding.task_id}
    return ([audit.event(actor, "evidence.attached", "evidence", e, None, link, request_id=request_id, at=now)
             for e in new if e not in old] +
            [audit.event(actor, "evidence.detached", "evidence", e, link, None, request_id=request_id, at=now)
             for e in old if e not in new])


def _as_create(row: Any) -> FindingCreate:
    return FindingCreate(id=row.id, task_id=row.task_id, indicator=row.indicator, recorded_at=row.recorded_at,
                         count=row.count, quantity=row.quantity, level=row.level, achievement=row.achievement,
                         note=row.note, case_file=row.case_file, staff=list(row.staff),
                         evidence_ids=[uuid.UUID(str(e)) for e in row.evidence_ids], supersedes=row.supersedes)


