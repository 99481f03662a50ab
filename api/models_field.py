"""SQLAlchemy models of field work: check-ins and findings."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, JSONType, UTCDateTime, utcnow
from api.models import Timestamped

__all__ = ["CheckIn", "Finding"]


class CheckIn(Base):
    """An inspector's arrival at (``in``) or departure from (``out``) the task's unit."""

    __tablename__ = "check_ins"
    __table_args__ = (CheckConstraint("kind IN ('in','out')", name="kind"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # created by the phone
    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tasks.id", ondelete="RESTRICT"), index=True)
    inspector: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(3))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float] = mapped_column(Float)
    device_time: Mapped[datetime] = mapped_column(UTCDateTime())
    server_time: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    distance_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    flags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    body_sha256: Mapped[str] = mapped_column(String(64))


class Finding(Timestamped, Base):
    """What an inspector found on a task, against one indicator of the period's catalog.

    Editable until the task is submitted; afterwards a correction is a new finding that
    ``supersedes`` this one, and both are kept.
    """

    __tablename__ = "findings"
    __table_args__ = (CheckConstraint("count >= 1", name="count"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)  # created by the phone
    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tasks.id", ondelete="RESTRICT"), index=True)
    inspector: Mapped[str] = mapped_column(String(64), index=True)
    indicator: Mapped[str] = mapped_column(String(120))
    count: Mapped[int] = mapped_column(Integer, default=1)
    quantity: Mapped[float | None] = mapped_column(Float, nullable=True)
    level: Mapped[str | None] = mapped_column(String(120), nullable=True)
    achievement: Mapped[str | None] = mapped_column(String(200), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    case_file: Mapped[str | None] = mapped_column(String(100), nullable=True)
    staff: Mapped[list[str]] = mapped_column(JSONType, default=list)
    evidence_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    supersedes: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("findings.id", ondelete="RESTRICT"), nullable=True, unique=True)
    superseded_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    deduction_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    charged_unit: Mapped[str] = mapped_column(String(100))
    body_sha256: Mapped[str] = mapped_column(String(64))
