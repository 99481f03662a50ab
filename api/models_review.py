"""SQLAlchemy models of review: period status changes (lock, publish, reopen) with who and why,
and the decisions of chiefs on proposed deductions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, UTCDateTime, utcnow

__all__ = ["Decision", "PeriodTransition"]


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
