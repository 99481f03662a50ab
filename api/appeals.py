"""Appeals: a unit appeals a deduction standing against it within a window of working days;
a chief other than the one who decided it answers every appeal (uphold, overturn, partial),
and the deduction follows the outcome. Filing and answering are appended to the ledger in the
transaction that stores them. Functions never commit.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import AbstractSet, Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.db import utcnow
from api.errors import Conflict, Forbidden, NotFound, ValidationFailed
from api.evidence_records import evidence_visibility
from api.ledger import append_event, lock_head
from api.models_evidence import Evidence
from api.models_review import Appeal, Decision, Notice
from api.models_scoring import Deduction
from api.notices import STANDING
from api.periods import open_period
from api.schemas.review import AppealCreate, AppealDecision, AppealOut
from api.security import Principal
from api.workdays import add_working_days, china_date

__all__ = ["appeal_closes", "appeal_out", "appeals_page", "decide_appeal", "file_appeal", "OUTCOME_STATUS"]

#: The appeal's status after each outcome.
OUTCOME_STATUS = {"uphold": "upheld", "overturn": "overturned", "partial": "partial"}


def _invalid(path: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"Invalid input: {path}: {message}", details=[{"path": path, "message": message}])


def appeal_closes(decided_at: datetime, window_days: int, holidays: AbstractSet[date]) -> date:
    """The last day (China time) on which a deduction decided at ``decided_at`` may be appealed."""
    return add_working_days(china_date(decided_at), window_days, holidays)


def appeal_out(row: Appeal) -> AppealOut:
    return AppealOut(id=row.id, deduction_id=row.deduction_id, unit_code=row.unit_code, period_code=row.period_code,
                     text=row.text, evidence_ids=[uuid.UUID(e) for e in row.evidence_ids], filed_by=row.filed_by,
                     filed_at=row.filed_at, answer_by=row.answer_by, status=row.status,  # type: ignore[arg-type]
                     points=row.points, reason=row.reason, decided_by=row.decided_by, decided_at=row.decided_at)


async def file_appeal(session: AsyncSession, deduction_id: uuid.UUID, data: AppealCreate, unit: Principal,
                      window_days: int, answer_days: int, holidays: AbstractSet[date]) -> Appeal:
    """404 for a deduction not standing against the caller's unit; 409 ``APPEAL_WINDOW_CLOSED``
    after the window, ``ALREADY_EXISTS`` for a second appeal; 422 for a photo the unit cannot see."""
    await lock_head(session)  # first write of the transaction on SQLite (api.ledger)
    query = (select(Deduction, Notice).join(Notice, Notice.deduction_id == Deduction.id)
             .where(Deduction.id == deduction_id, Deduction.unit_code == (unit.unit_code or ""),
                    Deduction.status.in_(STANDING)))
    found = (await session.execute(query)).one_or_none()
    if found is None:
        raise NotFound("No such deduction.", details={"deduction_id": str(deduction_id)})
    deduction, notice = found
    now = utcnow()
    closes = appeal_closes(notice.decided_at, window_days, holidays)
    if china_date(now) > closes:
        raise Conflict(f"The appeal window closed on {closes.isoformat()}.", code="APPEAL_WINDOW_CLOSED",
                       details={"deduction_id": str(deduction_id), "closed_on": closes.isoformat()})
    if (await session.execute(select(Appeal.id).where(Appeal.deduction_id == deduction_id))).first():
        raise Conflict("This deduction was already appealed.", code="ALREADY_EXISTS", details={"deduction_id": str(deduction_id)})
    wanted = sorted(set(data.evidence_ids))
    if wanted:
        visible = set((await session.execute(select(Evidence.id).where(Evidence.id.in_(wanted), evidence_visibility(unit)))).scalars())
        for index, evidence_id in enumerate(data.evidence_ids):
            if evidence_id not in visible:
                raise _invalid(f"$.evidence_ids[{index}]", f"no evidence {evidence_id} you may cite")
    appeal_id = uuid.uuid4()
    await append_event(session, "appeal.filed", {
        "appeal_id": str(appeal_id), "deduction_id": str(deduction.id), "unit_code": deduction.unit_code,
        "period_code": deduction.period_code, "filed_by": unit.username, "evidence_count": len(wanted),
    }, at=now)
    row = Appeal(id=appeal_id, deduction_id=deduction.id, unit_code=deduction.unit_code, period_code=deduction.period_code,
                 text=data.text, evidence_ids=[str(e) for e in data.evidence_ids], filed_by=unit.username, filed_at=now,
                 answer_by=add_working_days(china_date(now), answer_days, holidays), status="open")
    session.add(row)
    audit.record(session, unit.username, "appeal.filed", "appeal", appeal_id, None,
                 {"deduction_id": str(deduction.id), "status": "open", "answer_by": row.answer_by.isoformat()})
    await session.flush()
    return row


async def decide_appeal(session: AsyncSession, appeal_id: uuid.UUID, data: AppealDecision, chief: Principal) -> Appeal:
    """404 unknown appeal; 403 for the chief who decided the deduction (four eyes); 409
    ``ALREADY_DECIDED`` or ``PERIOD_LOCKED``; 422 points only (and required) for partial."""
    if data.outcome == "partial" and data.points is None:
        raise _invalid("$.points", "a partial overturn needs the new points")
    if data.outcome != "partial" and data.points is not None:
        raise _invalid("$.points", f"points are given only for a partial overturn, not to {data.outcome}")
    await lock_head(session)
    row = (await session.execute(select(Appeal).where(Appeal.id == appeal_id).with_for_update()
                                 .execution_options(populate_existing=True))).scalar_one_or_none()
    if row is None:
        raise NotFound("No such appeal.", details={"appeal_id": str(appeal_id)})
    deciders = set((await session.execute(select(Decision.decided_by).where(Decision.deduction_id == row.deduction_id))).scalars())
    if chief.username in deciders:
        raise Forbidden("Four eyes: an appeal is answered by a chief who did not decide the deduction.",
                        details={"appeal_id": str(appeal_id)})
    if row.status != "open":
        raise Conflict(f"The appeal is already {row.status}.", code="ALREADY_DECIDED",
                       details={"appeal_id": str(appeal_id), "status": row.status})
    deduction = (await session.execute(select(Deduction).where(Deduction.id == row.deduction_id).with_for_update()
                                       .execution_options(populate_existing=True))).scalar_one()
    await open_period(session, deduction.period_code)
    if data.outcome == "partial" and deduction.effect == "veto":
        raise _invalid("$.outcome", "a veto has no points to lower: uphold or overturn it")
    now = utcnow()
    before = deduction.status
    before_points = deduction.adjusted_points
    if data.outcome == "overturn":
        deduction.status, deduction.adjusted_points = "rejected", None
    elif data.outcome == "partial":
        deduction.status, deduction.adjusted_points = "adjusted", data.points
    await append_event(session, "appeal.decided", {
        "appeal_id": str(row.id), "deduction_id": str(deduction.id), "outcome": data.outcome,
        "points": None if data.points is None else repr(data.points), "reason": data.reason,
        "deduction_before": before, "deduction_after": deduction.status, "decided_by": chief.username,
    }, at=now)
    audit.record(session, chief.username, f"appeal.{OUTCOME_STATUS[data.outcome]}", "appeal", row.id, {"status": "open"},
                 {"status": OUTCOME_STATUS[data.outcome], "points": data.points, "reason": data.reason})
    if data.outcome != "uphold":
        audit.record(session, chief.username, "deduction.appeal_outcome", "deduction", deduction.id,
                     {"status": before, "adjusted_points": before_points},
                     {"status": deduction.status, "adjusted_points": deduction.adjusted_points, "appeal_id": str(row.id)})
    row.status, row.points, row.reason = OUTCOME_STATUS[data.outcome], data.points, data.reason
    row.decided_by, row.decided_at = chief.username, now
    await session.flush()
    return row


async def appeals_page(session: AsyncSession, p: Principal, filters: list[ColumnElement[bool]], *,
                       limit: int, offset: int) -> dict[str, Any]:
    where = list(filters)
    if p.role == "unit":
        where.append(Appeal.unit_code == (p.unit_code or ""))
    total = (await session.execute(select(func.count()).select_from(Appeal).where(*where))).scalar_one()
    rows = (await session.execute(select(Appeal).where(*where).order_by(Appeal.filed_at, Appeal.id)
                                  .limit(limit).offset(offset))).scalars()
    return {"items": [appeal_out(r) for r in rows], "total": total, "limit": limit, "offset": offset}
