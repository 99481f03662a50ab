"""Review of proposed deductions: the queue a chief judges from, and decisions.

A decision (confirm, adjust, reject) is taken only on a proposed deduction of an open period,
never by whoever logged the finding or proposed the deduction (four eyes), and is appended to
the tamper-evident ledger in the transaction that stores it. Functions never commit, except
:func:`decide_many`, which commits each decision on its own.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import AbstractSet, Sequence

import msgspec
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from evidence.exif import PhotoMetadata
from evidence.flags import Flag, haversine_m
from api import audit
from api.db import utcnow
from api.errors import ApiError, Conflict, ErrorBody, Forbidden, NotFound, ValidationFailed
from api.importing import chunks
from api.ledger import append_event, lock_head
from api.models import Unit
from api.models_draws import Task
from api.models_evidence import Evidence
from api.models_field import Finding
from api.models_review import Decision
from api.models_scoring import Deduction
from api.notices import record_notice
from api.periods import open_period
from api.schemas.review import (
    BulkDecision, BulkResult, DecisionCreate, DecisionOut, ReviewEvidence, ReviewFinding, ReviewItem,
)
from api.security import Principal
from api.tasks import DONE_STATUSES, known_to_unit

__all__ = ["check_decision", "decide", "decide_many", "deduction_authors", "decision_out", "evidence_by_id", "review_queue",
           "STATUS_OF"]

STATUS_OF = {"confirm": "confirmed", "adjust": "adjusted", "reject": "rejected"}


def _invalid(path: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"Invalid input: {path}: {message}", details=[{"path": path, "message": message}])


def check_decision(data: DecisionCreate, prefix: str = "$") -> None:
    """Points only with (and required for) adjust; a reason for adjust and reject."""
    if data.action == "adjust" and data.points is None:
        raise _invalid(f"{prefix}.points", "an adjustment needs the new points")
    if data.action != "adjust" and data.points is not None:
        raise _invalid(f"{prefix}.points", f"points are given only to adjust, not to {data.action}")
    if data.action != "confirm" and data.reason is None:
        raise _invalid(f"{prefix}.reason", f"a reason is required to {data.action}")


async def deduction_authors(session: AsyncSession, row: Deduction) -> tuple[set[str], list[str]]:
    """Who made the deduction (its proposer and the inspector who logged its finding), whom
    four eyes bar from judging it, and the photos its finding cites."""
    logged_by = {row.created_by}
    evidence_ids: list[str] = []
    if row.finding_id is not None:
        finding = (await session.execute(select(Finding.inspector, Finding.evidence_ids)
                                         .where(Finding.id == row.finding_id))).one_or_none()
        if finding is not None:
            logged_by.add(finding.inspector)
            evidence_ids = list(finding.evidence_ids)
    return logged_by, evidence_ids


def decision_out(row: Decision, status: str) -> DecisionOut:
    return DecisionOut(id=row.id, deduction_id=row.deduction_id, action=row.action, points=row.points,  # type: ignore[arg-type]
                       reason=row.reason, decided_by=row.decided_by, decided_at=row.decided_at,
                       status=status, ledger_seq=row.ledger_seq)  # type: ignore[arg-type]


async def decide(session: AsyncSession, deduction_id: uuid.UUID, data: DecisionCreate, reviewer: Principal,
                 holidays: AbstractSet[date] = frozenset(), prefix: str = "$") -> DecisionOut:
    """Apply one decision: 404 unknown deduction, 403 four eyes, 409 ``PERIOD_LOCKED`` or
    ``ALREADY_DECIDED``, 422 an adjustment of a veto or one that does not lower the points (the
    rule gives the points; a heavier deduction takes a corrected finding, which the rule scores
    again). A deduction that stands starts its notice clock (``holidays`` skipped) and opens
    its photos to the unit. ``prefix`` is the decision's path in the request body."""
    check_decision(data, prefix)
    # The ledger head first: on SQLite it must be the transaction's first write (api.ledger).
    await lock_head(session)
    query = select(Deduction).where(Deduction.id == deduction_id).with_for_update().execution_options(populate_existing=True)
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise NotFound("No such deduction.", details={"deduction_id": str(deduction_id)})
    logged_by, evidence_ids = await deduction_authors(session, row)
    if reviewer.username in logged_by:
        raise Forbidden("Four eyes: you may not decide on a deduction you proposed or a finding you logged.",
                        details={"deduction_id": str(deduction_id)})
    await open_period(session, row.period_code)
    await _check_submitted(session, row)
    if row.status != "proposed":
        raise Conflict(f"The deduction is already {row.status}.", code="ALREADY_DECIDED",
                       details={"deduction_id": str(deduction_id), "status": row.status})
    if data.action == "adjust" and row.effect == "veto":
        raise _invalid(f"{prefix}.action", "a veto has no points to adjust: confirm or reject it")
    if data.action == "adjust" and data.points is not None and data.points >= row.points:
        raise _invalid(f"{prefix}.points", f"an adjustment lowers the points: give fewer than the {row.points:g} proposed")
    status = STATUS_OF[data.action]
    now = utcnow()
    decision_id = uuid.uuid4()
    receipt = await append_event(session, f"deduction.{status}", {
        "decision_id": str(decision_id), "deduction_id": str(row.id), "period_code": row.period_code,
        "unit_code": row.unit_code, "indicator": row.indicator, "rule_points": repr(row.points),
        "points": None if data.points is None else repr(data.points), "reason": data.reason,
        "decided_by": reviewer.username,
    }, at=now)
    decision = Decision(id=decision_id, deduction_id=row.id, action=data.action, points=data.points, reason=data.reason,
                        decided_by=reviewer.username, decided_at=now, ledger_seq=receipt.index)
    session.add(decision)
    audit.record(session, reviewer.username, f"deduction.{status}", "deduction", row.id,
                 {"status": row.status, "adjusted_points": row.adjusted_points},
                 {"status": status, "adjusted_points": data.points, "reason": data.reason,
                  "decision_id": str(decision_id), "ledger_seq": receipt.index})
    row.status = status
    row.adjusted_points = data.points
    if status != "rejected":
        await record_notice(session, row, evidence_ids, now, holidays)
    await session.flush()
    await _close_review(session, row, reviewer.username)
    return decision_out(decision, status)


async def _close_review(session: AsyncSession, row: Deduction, actor: str) -> None:
    """A submitted task whose findings' deductions are all decided is ``reviewed``: its
    findings are final (a correction is refused, 409 ``TASK_REVIEWED``) and the phones see it
    done. The task's row is locked first, so of two chiefs deciding its last two deductions at
    once the second sees the first's decision and closes it."""
    if row.finding_id is None:
        return
    task = (await session.execute(select(Task).join(Finding, Finding.task_id == Task.id)
                                  .where(Finding.id == row.finding_id).with_for_update())).scalar_one_or_none()
    if task is None or task.status != "submitted":
        return
    undecided = (await session.execute(select(func.count()).select_from(Deduction)
                                       .join(Finding, Finding.id == Deduction.finding_id)
                                       .where(Finding.task_id == task.id, Deduction.status == "proposed"))).scalar_one()
    if undecided:
        return
    task.status = "reviewed"
    audit.record(session, actor, "task.reviewed", "task", task.id, {"status": "submitted"}, {"status": "reviewed"})
    await session.flush()


async def _check_submitted(session: AsyncSession, row: Deduction) -> None:
    """A finding's deduction is judged once its task is submitted: before, the inspector may
    still edit the finding, and the unit of an unannounced visit must not hear of it. A
    decision tells the unit (its notice, its register), so a deduction of a file review waits
    as well while the same draw's unannounced visit to the unit is still to come."""
    if row.finding_id is None:
        return
    status, known = (await session.execute(select(Task.status, known_to_unit()).join(Finding, Finding.task_id == Task.id)
                                           .where(Finding.id == row.finding_id))).one_or_none() or (None, True)
    if status not in DONE_STATUSES:
        raise Conflict("The task is not submitted yet: its findings may still change.", code="TASK_NOT_SUBMITTED",
                       details={"deduction_id": str(row.id), "task_status": status})
    if not known:
        raise Conflict("An unannounced visit of the same draw to this unit is not done yet: deciding this deduction "
                       "would tell the unit of it.", code="VISITS_PENDING", details={"deduction_id": str(row.id)})


async def decide_many(session: AsyncSession, items: Sequence[BulkDecision], reviewer: Principal,
                      holidays: AbstractSet[date] = frozenset()) -> list[BulkResult]:
    """Apply each decision on its own: each one is committed, or rolled back and answered
    with the error the single decision would have raised. Commits (unlike the rest here)."""
    results = []
    for index, item in enumerate(items):
        try:
            out = await decide(session, item.deduction_id, item, reviewer, holidays, f"$.decisions[{index}]")
            await session.commit()
            results.append(BulkResult(deduction_id=item.deduction_id, status_code=200, decision=out))
        except ApiError as exc:
            await session.rollback()
            error = ErrorBody(code=exc.code, message=exc.message, details=exc.details)
            results.append(BulkResult(deduction_id=item.deduction_id, status_code=exc.status_code, error=error))
    return results


# -- the review queue ------------------------------------------------------------------------

async def evidence_by_id(session: AsyncSession, ids: set[str]) -> dict[str, Evidence]:
    """The filed photos among ``ids`` (text, as findings cite them), by id."""
    found: dict[str, Evidence] = {}
    valid = []
    for value in ids:
        try:
            valid.append(uuid.UUID(value))
        except ValueError:
            continue
    for chunk in chunks(sorted(valid)):
        for row in (await session.execute(select(Evidence).where(Evidence.id.in_(chunk)))).scalars():
            found[str(row.id)] = row
    return found


async def _tasks(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, tuple[Task, Unit]]:
    found: dict[uuid.UUID, tuple[Task, Unit]] = {}
    for chunk in chunks(sorted(ids)):
        rows = await session.execute(select(Task, Unit).join(Unit, Unit.code == Task.unit_code).where(Task.id.in_(chunk)))
        found.update({task.id: (task, unit) for task, unit in rows})
    return found


def _review_evidence(row: Evidence, unit: Unit | None) -> ReviewEvidence:
    gps = msgspec.convert(row.photo_metadata, PhotoMetadata).gps
    distance = None
    if row.gps_lat is not None and row.gps_lon is not None and unit is not None and unit.lat is not None and unit.lon is not None:
        distance = round(haversine_m(row.gps_lat, row.gps_lon, unit.lat, unit.lon), 1)
    return ReviewEvidence(id=row.id, sha256=row.sha256, thumbnail_url=f"/api/v1/evidence/{row.id}/thumbnail",
                          capture_time=row.capture_time, gps=gps, distance_m=distance,
                          flags=msgspec.convert(row.flags, list[Flag]))


async def review_queue(session: AsyncSession, filters: list[ColumnElement[bool]], flag: str | None) -> list[ReviewItem]:
    """Proposed deductions matching ``filters`` (on Deduction and Finding), flagged ones first,
    then by creation; ``flag`` keeps those with a photo carrying that flag code. Findings of
    tasks not yet submitted wait: they may still change; so do those of a draw whose unannounced
    visit to the unit is still to come (see :func:`_check_submitted`)."""
    query = (select(Deduction, Finding).outerjoin(Finding, Finding.id == Deduction.finding_id)
             .outerjoin(Task, Task.id == Finding.task_id)
             .where(Deduction.status == "proposed",
                    or_(Finding.id.is_(None), and_(Task.status.in_(DONE_STATUSES), known_to_unit())), *filters)
             .order_by(Deduction.created_at, Deduction.id))
    pairs = [(d, f) for d, f in await session.execute(query)]
    evidence = await evidence_by_id(session, {e for _, f in pairs if f is not None for e in f.evidence_ids})
    tasks = await _tasks(session, {f.task_id for _, f in pairs if f is not None})
    items = []
    for deduction, finding in pairs:
        found: list[ReviewEvidence] = []
        missing: list[str] = []
        review_finding = None
        if finding is not None:
            task, unit = tasks[finding.task_id]
            review_finding = ReviewFinding(id=finding.id, task_id=finding.task_id, visited_unit=task.unit_code,
                                           inspector=finding.inspector, team=list(task.team), note=finding.note,
                                           case_file=finding.case_file, recorded_at=finding.recorded_at)
            for evidence_id in finding.evidence_ids:
                row = evidence.get(evidence_id)
                if row is None:
                    missing.append(evidence_id)
                else:
                    found.append(_review_evidence(row, unit))
        codes = sorted({f.code.value for e in found for f in e.flags})
        if flag is not None and flag not in codes:
            continue
        items.append(ReviewItem(
            deduction_id=deduction.id, period_code=deduction.period_code, unit_code=deduction.unit_code,
            indicator=deduction.indicator, count=deduction.count, points=deduction.points, effect=deduction.effect,
            staff=list(deduction.staff), created_by=deduction.created_by, created_at=deduction.created_at,
            finding=review_finding, evidence=found, missing_evidence=missing, flags=codes,
        ))
    # Stable: flagged (or with missing photos) first, each group in creation order.
    items.sort(key=lambda item: not (item.flags or item.missing_evidence))
    return items
