"""SQLAlchemy models of review: period status changes (lock, publish, reopen) with who and why,
the decisions of chiefs on proposed deductions, the notice of standing ones to the unit, and
the unit's appeals and the committee's votes on them, and the audit log of all their changes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, JSONType, UTCDateTime, utcnow

__all__ = ["Appeal", "AppealVote", "AuditEvent", "CitedEvidence", "Decision", "Notice", "PeriodTransition", "PeriodUnit"]


class PeriodTransition(Base):
    """One change of a period's status; a reopening carries its reason (an audited exception)."""

    __tablename__ = "period_transitions"
    __table_args__ = (
        CheckConstraint("from_status IN ('open','locked','published')", name="from_status"),
        CheckConstraint("to_status IN ('open','locked','published')", name="to_status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_code: Mapped[str] = mapped_column(String(100), ForeignKey("periods.code", ondelete="RESTRICT"), index=True)
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PeriodUnit(Base):
    """A unit a locked or published period assesses, as the registry said at the lock.

    An open period assesses the registry's units of its kind as they are now; a lock keeps
    that list, so that a later registry change (a unit that changes kind or parent, a new
    office) cannot change a locked or published leaderboard. A reopening drops it."""

    __tablename__ = "period_units"

    period_code: Mapped[str] = mapped_column(String(100), ForeignKey("periods.code", ondelete="CASCADE"), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(100), ForeignKey("units.code", ondelete="RESTRICT"), primary_key=True)


class Decision(Base):
    """A chief's decision on a proposed deduction, with the ledger entry that records it."""

    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint("action IN ('confirm','adjust','reject')", name="action"),
        CheckConstraint("(action = 'adjust') = (points IS NOT NULL)", name="points"),
        CheckConstraint("action = 'confirm' OR reason IS NOT NULL", name="reason"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    deduction_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("deductions.id", ondelete="RESTRICT"), index=True)
    action: Mapped[str] = mapped_column(String(8))
    points: Mapped[float | None] = mapped_column(Float, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_by: Mapped[str] = mapped_column(String(64), index=True)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    ledger_seq: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_entries.seq", ondelete="RESTRICT"), unique=True)


class Notice(Base):
    """The unit must be told of a standing (confirmed or adjusted) deduction by ``notify_by``
    (3 working days after the decision); ``notified_at`` is when its account first read it."""

    __tablename__ = "notices"

    deduction_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("deductions.id", ondelete="RESTRICT"), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(100), ForeignKey("units.code", ondelete="RESTRICT"), index=True)
    period_code: Mapped[str] = mapped_column(String(100), ForeignKey("periods.code", ondelete="RESTRICT"), index=True)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    notify_by: Mapped[date] = mapped_column(Date, index=True)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    notified_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class CitedEvidence(Base):
    """A photo a decided deduction's finding cites: the unit charged may read it while the
    deduction stands. No foreign key to the photo: a finding may cite one filed later."""

    __tablename__ = "cited_evidence"

    deduction_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("deductions.id", ondelete="RESTRICT"), primary_key=True)
    evidence_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, index=True)


class Appeal(Base):
    """A unit's appeal of a standing deduction (one per deduction) and its answer.

    ``committee_size`` is the number of chiefs' votes that decide it (the setting in force
    when it was filed), so a later change of the setting never strands an open appeal."""

    __tablename__ = "appeals"
    __table_args__ = (
        CheckConstraint("status IN ('open','upheld','overturned','partial')", name="status"),
        CheckConstraint("(status = 'partial') = (points IS NOT NULL)", name="points"),
        CheckConstraint("(status = 'open') = (decided_at IS NULL)", name="decided"),
        CheckConstraint("committee_size BETWEEN 1 AND 9 AND committee_size % 2 = 1", name="committee_size"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    deduction_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("deductions.id", ondelete="RESTRICT"), unique=True)
    unit_code: Mapped[str] = mapped_column(String(100), ForeignKey("units.code", ondelete="RESTRICT"), index=True)
    period_code: Mapped[str] = mapped_column(String(100), ForeignKey("periods.code", ondelete="RESTRICT"), index=True)
    text: Mapped[str] = mapped_column(Text)
    evidence_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    answer_by: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    points: Mapped[float | None] = mapped_column(Float, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    committee_size: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class AppealVote(Base):
    """One chief's vote on an appeal (one per chief); the last vote of the committee decides."""

    __tablename__ = "appeal_votes"
    __table_args__ = (
        UniqueConstraint("appeal_id", "voted_by", name="uq_appeal_votes_appeal_voter"),
        CheckConstraint("outcome IN ('uphold','overturn','partial')", name="outcome"),
        CheckConstraint("(outcome = 'partial') = (points IS NOT NULL)", name="points"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    appeal_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("appeals.id", ondelete="RESTRICT"), index=True)
    voted_by: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    points: Mapped[float | None] = mapped_column(Float, nullable=True)
    reason: Mapped[str] = mapped_column(String(200))
    voted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditEvent(Base):
    """One state change: who, when, what (action, object), before and after, and the request."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))  # not indexed: few values (migration 0008)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(100), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
