"""SQLAlchemy models of spot-check plans, draws, tasks and declared conflicts."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, JSONType, UTCDateTime, utcnow
from api.models import Timestamped

__all__ = ["DeclaredConflict", "Draw", "Plan", "Task", "TaskInspector", "TASK_STATUSES"]

TASK_STATUSES = ("assigned", "in_progress", "submitted", "reviewed")


class DeclaredConflict(Base):
    """An inspector must not inspect this unit (kinship, former post, interest: 回避)."""

    __tablename__ = "conflicts"
    __table_args__ = (UniqueConstraint("inspector", "unit_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspector: Mapped[str] = mapped_column(String(64), ForeignKey("inspectors.username", ondelete="CASCADE"), index=True)
    unit_code: Mapped[str] = mapped_column(String(100), ForeignKey("units.code", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    declared_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Plan(Timestamped, Base):
    """A spot-check plan: what to draw and how; editable until drawn."""

    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("status IN ('draft','drawn')", name="status"),
        CheckConstraint("due_from <= due_to", name="due_window"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    period: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSONType)
    unannounced: Mapped[bool] = mapped_column(Boolean, default=True)
    due_from: Mapped[date] = mapped_column(Date)
    due_to: Mapped[date] = mapped_column(Date)
    exclude_recent_draws: Mapped[int] = mapped_column(Integer, default=0)
    seed_commitment: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_by: Mapped[str] = mapped_column(String(64))


class Draw(Base):
    """The immutable record of one draw, with the exact inputs it was computed from."""

    __tablename__ = "draws"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    plan_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("plans.id", ondelete="RESTRICT"), unique=True)
    algorithm: Mapped[str] = mapped_column(String(32))
    algorithm_version: Mapped[int] = mapped_column(Integer)
    seed: Mapped[str] = mapped_column(Text)
    population_digest: Mapped[str] = mapped_column(String(64))
    record: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # gzip of the canonical JSON of every input (population, files, roster, exclusions).
    inputs: Mapped[bytes] = mapped_column(LargeBinary)
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    drawn_by: Mapped[str] = mapped_column(String(64))
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Task(Timestamped, Base):
    """One visit, file review or call-back of one unit by one team."""

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint("kind IN ('file_review','field_visit','callback')", name="kind"),
        CheckConstraint("status IN ('assigned','in_progress','submitted','reviewed')", name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    draw_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("draws.id", ondelete="RESTRICT"), index=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("plans.id", ondelete="RESTRICT"), index=True)
    unit_code: Mapped[str] = mapped_column(String(100), ForeignKey("units.code", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    draw_rank: Mapped[int] = mapped_column(Integer)
    team: Mapped[list[str]] = mapped_column(JSONType, default=list)
    case_files: Mapped[list[str]] = mapped_column(JSONType, default=list)
    due_from: Mapped[date] = mapped_column(Date)
    due_to: Mapped[date] = mapped_column(Date)
    unannounced: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), default="assigned", index=True)


class TaskInspector(Base):
    """Team membership, one row per inspector, so "my tasks" is an indexed lookup."""

    __tablename__ = "task_inspectors"

    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
