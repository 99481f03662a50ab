"""SQLAlchemy models of review: period status changes (lock, publish, reopen) with who and why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, UTCDateTime, utcnow

__all__ = ["PeriodTransition"]


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

