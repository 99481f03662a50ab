"""Telling the unit: a confirmed (or adjusted) deduction is shown to the unit account with its
basis, and must be read within 3 working days of the decision; unread ones past that are
overdue. The photos a decided deduction cites are recorded so the unit may see them.
Functions never commit.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import AbstractSet, Any, Sequence

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.db import utcnow
from api.importing import chunks
from api.models_field import Finding
from api.models_review import Appeal, CitedEvidence, Decision, Notice
from api.models_scoring import Deduction
from api.schemas.review import DeductionAppeal, NoticeOut, UnitDeduction
from api.workdays import add_working_days, china_date

__all__ = ["NOTICE_WORKING_DAYS", "STANDING", "mark_read", "overdue_notices", "record_notice", "unit_deductions"]

NOTICE_WORKING_DAYS = 3
#: The statuses in which a deduction stands against the unit.
STANDING = ("confirmed", "adjusted")


def _uuids(values: Sequence[str]) -> list[uuid.UUID]:
    found = []
    for value in values:
        try:
            found.append(uuid.UUID(value))
        except ValueError:
            continue
    return sorted(set(found))


async def record_notice(session: AsyncSession, row: Deduction, evidence_ids: Sequence[str], at: datetime,
                        holidays: AbstractSet[date]) -> None:
    """Start the notice clock of a deduction just decided to stand (once: a later change of a
    standing deduction, by appeal, keeps the first deadline) and record the photos it cites."""
    if (await session.execute(select(Notice.deduction_id).where(Notice.deduction_id == row.id))).first():
        return
    session.add(Notice(deduction_id=row.id, unit_code=row.unit_code, period_code=row.period_code, decided_at=at,
                       notify_by=add_working_days(china_date(at), NOTICE_WORKING_DAYS, holidays)))
    for evidence_id in _uuids(evidence_ids):
        session.add(CitedEvidence(deduction_id=row.id, evidence_id=evidence_id))


async def mark_read(session: AsyncSession, shown: Sequence[Notice], reader: str) -> None:
    """The unit's account ``reader`` was shown these standing deductions: record the first
    read of each (audited) on the rows and in ``shown``."""
    unread = [n.deduction_id for n in shown if n.notified_at is None]
    if not unread:
        return
    now = utcnow()
    # Only the rows this request marks are audited: a concurrent first read marks the others.
    for chunk in chunks(unread):
        marked = (await session.execute(update(Notice).where(Notice.deduction_id.in_(chunk), Notice.notified_at.is_(None))
                                        .values(notified_at=now, notified_by=reader).returning(Notice.deduction_id))).scalars().all()
        for deduction_id in sorted(marked):
            audit.record(session, reader, "notice.read", "deduction", deduction_id, {"notified_at": None},
                         {"notified_at": now.isoformat()})
    for notice in shown:
        if notice.notified_at is None:
            notice.notified_at, notice.notified_by = now, reader


async def unit_deductions(session: AsyncSession, unit_code: str, period: str | None, reader: str, *,
                          limit: int, offset: int) -> dict[str, Any]:
    """The unit's standing deductions with their basis and appeal, newest decision first,
    and those its appeals overturned (counted as 0), so the unit sees what its appeal won
    where it saw the deduction. Those shown are marked notified (the first read only)."""
    overturned = select(Appeal.deduction_id).where(Appeal.status == "overturned")
    where: list[ColumnElement[bool]] = [
        Deduction.unit_code == unit_code,
        or_(Deduction.status.in_(STANDING), and_(Deduction.status == "rejected", Deduction.id.in_(overturned))),
    ]
    if period is not None:
        where.append(Deduction.period_code == period)
    base = select(Deduction, Notice, Finding).join(Notice, Notice.deduction_id == Deduction.id) \
        .outerjoin(Finding, Finding.id == Deduction.finding_id).where(*where)
    total = (await session.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
    rows = list(await session.execute(base.order_by(Notice.decided_at.desc(), Deduction.id).limit(limit).offset(offset)))
    ids = [d.id for d, _, _ in rows]
    latest: dict[uuid.UUID, Decision] = {}
    appealed: dict[uuid.UUID, Appeal] = {}
    if ids:
        for decision in (await session.execute(select(Decision).where(Decision.deduction_id.in_(ids))
                                               .order_by(Decision.decided_at))).scalars():
            latest[decision.deduction_id] = decision
        appealed = {a.deduction_id: a for a in (await session.execute(select(Appeal).where(Appeal.deduction_id.in_(ids)))).scalars()}
    await mark_read(session, [n for _, n, _ in rows], reader)
    items = []
    for deduction, notice, finding in rows:
        decision, appeal = latest.get(deduction.id), appealed.get(deduction.id)
        if deduction.status == "rejected":
            counted = 0.0
        else:
            counted = deduction.adjusted_points if deduction.adjusted_points is not None else deduction.points
        items.append(UnitDeduction(
            deduction_id=deduction.id, period_code=deduction.period_code, indicator=deduction.indicator,
            count=deduction.count, effect=deduction.effect, status=deduction.status,  # type: ignore[arg-type]
            rule_points=deduction.points, points=counted,
            staff=list(deduction.staff), note=finding.note if finding is not None else None,
            evidence_ids=_uuids(finding.evidence_ids) if finding is not None else [],
            reason=decision.reason if decision is not None else None, decided_at=notice.decided_at,
            notify_by=notice.notify_by, notified_at=notice.notified_at,
            appeal=None if appeal is None else DeductionAppeal(
                appeal_id=appeal.id, status=appeal.status, filed_at=appeal.filed_at,  # type: ignore[arg-type]
                answer_by=appeal.answer_by, points=appeal.points, reason=appeal.reason, decided_at=appeal.decided_at),
        ))
    return {"items": items, "total": total, "limit": limit, "offset": offset}


async def overdue_notices(session: AsyncSession, today: date, filters: list[ColumnElement[bool]], *,
                          limit: int, offset: int) -> dict[str, Any]:
    """Standing deductions the unit has not read by their deadline, most overdue first."""
    where = [Notice.notified_at.is_(None), Notice.notify_by < today, Deduction.status.in_(STANDING), *filters]
    base = select(Notice, Deduction).join(Deduction, Deduction.id == Notice.deduction_id).where(*where)
    total = (await session.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
    rows = await session.execute(base.order_by(Notice.notify_by, Notice.deduction_id).limit(limit).offset(offset))
    items = [NoticeOut(deduction_id=n.deduction_id, unit_code=n.unit_code, period_code=n.period_code,
                       indicator=d.indicator, status=d.status, decided_at=n.decided_at,  # type: ignore[arg-type]
                       notify_by=n.notify_by, days_overdue=(today - n.notify_by).days) for n, d in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset}
