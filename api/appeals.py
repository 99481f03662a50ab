"""Appeals: a unit appeals a deduction standing against it within a window of working days;
a chief who neither decided nor made the deduction answers every appeal (uphold, overturn,
partial), or a committee of such chiefs votes (``SPOTCHECK_APPEAL_COMMITTEE_SIZE``), and the
deduction follows the outcome. Filing and the decision are appended to the ledger in the
transaction that stores them; every vote is audited. Functions never commit.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import AbstractSet, Any, Sequence

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.db import utcnow
from api.errors import Conflict, Forbidden, NotFound, ValidationFailed
from api.evidence_records import evidence_visibility
from api.ledger import append_event, lock_head
from api.models_evidence import Evidence
from api.models_review import Appeal, AppealVote, Decision, Notice
from api.models_scoring import Deduction
from api.notices import STANDING
from api.periods import open_period
from api.review import deduction_authors
from api.schemas.review import AppealCreate, AppealDecision, AppealOut, AppealVoteOut
from api.security import Principal
from api.workdays import add_working_days, china_date
from scoring import Vote, committee_decision

__all__ = ["appeal_closes", "appeal_out", "appeals_page", "decide_appeal", "file_appeal", "votes_of", "OUTCOME_STATUS"]

#: The appeal's status after each outcome.
OUTCOME_STATUS = {"uphold": "upheld", "overturn": "overturned", "partial": "partial"}
#: The outcome (as chiefs answer) of each committee decision.
DECISION_OUTCOME = {"upheld": "uphold", "overturned": "overturn", "partially_overturned": "partial"}


def _invalid(path: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"Invalid input: {path}: {message}", details=[{"path": path, "message": message}])


def appeal_closes(decided_at: datetime, window_days: int, holidays: AbstractSet[date]) -> date:
    """The last day (China time) on which a deduction decided at ``decided_at`` may be appealed."""
    return add_working_days(china_date(decided_at), window_days, holidays)


def appeal_out(row: Appeal, votes: Sequence[AppealVote] = (), viewer: Principal | None = None) -> AppealOut:
    """The appeal with its ``votes``; a unit ``viewer`` sees no vote while the appeal is open
    (votes so far would invite lobbying)."""
    if viewer is not None and viewer.role == "unit" and row.status == "open":
        votes = ()
    return AppealOut(id=row.id, deduction_id=row.deduction_id, unit_code=row.unit_code, period_code=row.period_code,
                     text=row.text, evidence_ids=[uuid.UUID(e) for e in row.evidence_ids], filed_by=row.filed_by,
                     filed_at=row.filed_at, answer_by=row.answer_by, status=row.status,  # type: ignore[arg-type]
                     points=row.points, reason=row.reason, decided_by=row.decided_by, decided_at=row.decided_at,
                     committee_size=row.committee_size,
                     votes=[AppealVoteOut(voted_by=v.voted_by, outcome=v.outcome, points=v.points,  # type: ignore[arg-type]
                                          reason=v.reason, voted_at=v.voted_at) for v in votes])


async def file_appeal(session: AsyncSession, deduction_id: uuid.UUID, data: AppealCreate, unit: Principal,
                      window_days: int, answer_days: int, holidays: AbstractSet[date], *, committee_size: int) -> Appeal:
    """404 for a deduction not standing against the caller's unit; 409 ``APPEAL_WINDOW_CLOSED``
    after the window, ``ALREADY_EXISTS`` for a second appeal, ``NOT_APPEALABLE`` for bonus points
    (an appeal can only lower what stands, which would take a bonus away); 422 for a photo the
    unit cannot see. ``committee_size`` chiefs' votes will decide it (no default: every caller
    passes the setting in force)."""
    await lock_head(session)  # first write of the transaction on SQLite (api.ledger)
    query = (select(Deduction, Notice).join(Notice, Notice.deduction_id == Deduction.id)
             .where(Deduction.id == deduction_id, Deduction.unit_code == (unit.unit_code or ""),
                    Deduction.status.in_(STANDING)))
    found = (await session.execute(query)).one_or_none()
    if found is None:
        raise NotFound("No such deduction.", details={"deduction_id": str(deduction_id)})
    deduction, notice = found
    if deduction.effect == "add":
        raise Conflict("Bonus points are not appealed: an appeal can only lower points that stand against the unit.",
                       code="NOT_APPEALABLE", details={"deduction_id": str(deduction_id), "effect": deduction.effect})
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
                 answer_by=add_working_days(china_date(now), answer_days, holidays), status="open",
                 committee_size=committee_size)
    session.add(row)
    audit.record(session, unit.username, "appeal.filed", "appeal", appeal_id, None,
                 {"deduction_id": str(deduction.id), "status": "open", "answer_by": row.answer_by.isoformat()})
    await session.flush()
    return row


async def decide_appeal(session: AsyncSession, appeal_id: uuid.UUID, data: AppealDecision,
                        chief: Principal) -> tuple[Appeal, list[AppealVote]]:
    """One chief's answer, which is a vote when the appeal has a committee: the appeal is
    decided by the vote that completes its committee (at once with a committee of one),
    by :func:`scoring.committee_decision`. 404 unknown appeal; 403 for a chief who decided
    the deduction, proposed it or logged its finding (four eyes); 409 ``ALREADY_DECIDED``,
    ``ALREADY_EXISTS`` (a second vote) or ``PERIOD_LOCKED``; 422 points only (and required)
    for partial, and below the points in force. Returns the appeal and its votes."""
    if data.outcome == "partial" and data.points is None:
        raise _invalid("$.points", "a partial overturn needs the new points")
    if data.outcome != "partial" and data.points is not None:
        raise _invalid("$.points", f"points are given only for a partial overturn, not to {data.outcome}")
    await lock_head(session)
    row = (await session.execute(select(Appeal).where(Appeal.id == appeal_id).with_for_update()
                                 .execution_options(populate_existing=True))).scalar_one_or_none()
    if row is None:
        raise NotFound("No such appeal.", details={"appeal_id": str(appeal_id)})
    deduction = (await session.execute(select(Deduction).where(Deduction.id == row.deduction_id).with_for_update()
                                       .execution_options(populate_existing=True))).scalar_one()
    barred, _ = await deduction_authors(session, deduction)
    barred |= set((await session.execute(select(Decision.decided_by).where(Decision.deduction_id == row.deduction_id))).scalars())
    if chief.username in barred:
        raise Forbidden("Four eyes: an appeal is answered by a chief who did not decide the deduction, propose it "
                        "or log its finding.", details={"appeal_id": str(appeal_id)})
    if row.status != "open":
        raise Conflict(f"The appeal is already {row.status}.", code="ALREADY_DECIDED",
                       details={"appeal_id": str(appeal_id), "status": row.status})
    votes = await votes_of(session, [row.id])
    if any(v.voted_by == chief.username for v in votes):
        raise Conflict("You already voted on this appeal.", code="ALREADY_EXISTS",
                       details={"appeal_id": str(appeal_id), "voted_by": chief.username})
    await open_period(session, deduction.period_code)
    if data.outcome == "partial" and deduction.effect == "veto":
        raise _invalid("$.outcome", "a veto has no points to lower: uphold or overturn it")
    in_force = deduction.adjusted_points if deduction.adjusted_points is not None else deduction.points
    if data.points is not None and data.points >= in_force:
        raise _invalid("$.points", f"a partial overturn lowers the deduction below its {in_force!r} points")
    now = utcnow()
    vote = AppealVote(id=uuid.uuid4(), appeal_id=row.id, voted_by=chief.username, outcome=data.outcome,
                      points=data.points, reason=data.reason, voted_at=now)
    session.add(vote)
    votes.append(vote)
    if row.committee_size > 1:
        audit.record(session, chief.username, "appeal.vote", "appeal", row.id, {"votes": len(votes) - 1},
                     {"votes": len(votes), "of": row.committee_size, "outcome": data.outcome, "points": data.points,
                      "reason": data.reason})
    if len(votes) >= row.committee_size:
        await _apply(session, row, deduction, votes, in_force, chief, now)
    await session.flush()
    return row, votes


async def _apply(session: AsyncSession, row: Appeal, deduction: Deduction, votes: list[AppealVote], in_force: float,
                 closer: Principal, now: datetime) -> None:
    """Decide the appeal from its votes; the deduction follows. A committee of one leaves
    exactly the single chief's answer (the median of one vote is that vote)."""
    ballots = [Vote(outcome=v.outcome, points=v.points, reason=v.reason, by=v.voted_by)  # type: ignore[arg-type]
               for v in votes]
    decided = committee_decision(in_force, ballots)
    outcome = DECISION_OUTCOME[decided.outcome]
    points = decided.points if outcome == "partial" else None
    before, before_points = deduction.status, deduction.adjusted_points
    if outcome == "overturn":
        deduction.status, deduction.adjusted_points = "rejected", None
    elif outcome == "partial":
        deduction.status, deduction.adjusted_points = "adjusted", points
    committee: dict[str, Any] = {}
    if row.committee_size > 1:
        # Ledger data is flat (str, int, bool, None): one group of keys per vote, in voting order.
        committee["committee_size"] = row.committee_size
        for n, v in enumerate(votes, start=1):
            committee |= {f"vote_{n}_by": v.voted_by, f"vote_{n}_outcome": v.outcome, f"vote_{n}_reason": v.reason,
                          f"vote_{n}_points": None if v.points is None else repr(v.points)}
    await append_event(session, "appeal.decided", {
        "appeal_id": str(row.id), "deduction_id": str(deduction.id), "outcome": outcome,
        "points": None if points is None else repr(points), "reason": decided.reason,
        "deduction_before": before, "deduction_after": deduction.status, "decided_by": decided.by, **committee,
    }, at=now)
    after: dict[str, Any] = {"status": OUTCOME_STATUS[outcome], "points": points, "reason": decided.reason}
    if row.committee_size > 1:
        after |= {"decided_by": decided.by, "votes": len(votes)}
    audit.record(session, closer.username, f"appeal.{OUTCOME_STATUS[outcome]}", "appeal", row.id, {"status": "open"}, after)
    if outcome != "uphold":
        audit.record(session, closer.username, "deduction.appeal_outcome", "deduction", deduction.id,
                     {"status": before, "adjusted_points": before_points},
                     {"status": deduction.status, "adjusted_points": deduction.adjusted_points, "appeal_id": str(row.id)})
    row.status, row.points, row.reason = OUTCOME_STATUS[outcome], points, decided.reason
    row.decided_by, row.decided_at = decided.by, now


async def votes_of(session: AsyncSession, appeal_ids: Sequence[uuid.UUID]) -> list[AppealVote]:
    """The votes on these appeals in the order they were cast."""
    if not appeal_ids:
        return []
    query = select(AppealVote).where(AppealVote.appeal_id.in_(appeal_ids)).order_by(AppealVote.voted_at, AppealVote.id)
    return list((await session.execute(query)).scalars())


async def appeals_page(session: AsyncSession, p: Principal, filters: list[ColumnElement[bool]], *,
                       limit: int, offset: int) -> dict[str, Any]:
    where = list(filters)
    if p.role == "unit":
        where.append(Appeal.unit_code == (p.unit_code or ""))
    total = (await session.execute(select(func.count()).select_from(Appeal).where(*where))).scalar_one()
    rows = list((await session.execute(select(Appeal).where(*where).order_by(Appeal.filed_at, Appeal.id)
                                       .limit(limit).offset(offset))).scalars())
    votes: dict[uuid.UUID, list[AppealVote]] = {}
    for vote in await votes_of(session, [r.id for r in rows]):
        votes.setdefault(vote.appeal_id, []).append(vote)
    return {"items": [appeal_out(r, votes.get(r.id, []), p) for r in rows], "total": total, "limit": limit, "offset": offset}
