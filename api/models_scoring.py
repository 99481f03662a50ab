"""SQLAlchemy models of scoring: catalog and scheme versions, periods, measurements, deductions.

A catalog or scheme version is an immutable document: the canonical JSON of the validated
document and its SHA-256. A period pins the versions in force when it opened, so its scores
never move when a newer version is loaded.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, JSONType, UTCDateTime, utcnow
from api.models import Timestamped

__all__ = ["CatalogVersion", "SchemeVersion", "Period", "Measurement", "Deduction",
           "PERIOD_STATUSES", "DEDUCTION_STATUSES"]

PERIOD_STATUSES = ("open", "locked", "published")
DEDUCTION_STATUSES = ("proposed", "confirmed", "adjusted", "rejected")


class _Document:
    """Columns shared by catalog and scheme versions."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    # The canonical JSON (msgspec encoding of the validated Struct): text, so the hash below
    # stays the hash of exactly what is stored whatever the backend does to JSON.
    document: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    loaded_by: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CatalogVersion(_Document, Base):
    __tablename__ = "catalogs"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_catalogs_code_version"),)


class SchemeVersion(_Document, Base):
    __tablename__ = "schemes"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_schemes_code_version"),)


class Period(Timestamped, Base):
    """An assessment period; the assessed units are the units of ``unit_kind`` (children of
    ``parent_code`` when set)."""

    __tablename__ = "periods"
    __table_args__ = (
        CheckConstraint("status IN ('open','locked','published')", name="status"),
        CheckConstraint("unit_kind IN ('office','entity')", name="unit_kind"),
        CheckConstraint("starts_on <= ends_on", name="dates"),
        ForeignKeyConstraint(["catalog_code", "catalog_version"], ["catalogs.code", "catalogs.version"],
                             name="fk_periods_catalog", ondelete="RESTRICT"),
        ForeignKeyConstraint(["scheme_code", "scheme_version"], ["schemes.code", "schemes.version"],
                             name="fk_periods_scheme", ondelete="RESTRICT"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    catalog_code: Mapped[str] = mapped_column(String(120))
    catalog_version: Mapped[int] = mapped_column(Integer)
    scheme_code: Mapped[str] = mapped_column(String(120))
    scheme_version: Mapped[int] = mapped_column(Integer)
    unit_kind: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(
        String(100), ForeignKey("units.code", ondelete="RESTRICT"), nullable=True
    )
    opened_by: Mapped[str] = mapped_column(String(64))


class Measurement(Base):
    """A rate or count from a business system, one per (period, unit, metric)."""

    __tablename__ = "measurements"
    __table_args__ = (
        UniqueConstraint("period_code", "unit_code", "metric", name="uq_measurements_key"),
        CheckConstraint("elapsed > 0 AND elapsed <= 1", name="elapsed"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_code: Mapped[str] = mapped_column(String(100), ForeignKey("periods.code", ondelete="RESTRICT"))
    unit_code: Mapped[str] = mapped_column(String(100), ForeignKey("units.code", ondelete="RESTRICT"), index=True)
    metric: Mapped[str] = mapped_column(String(120))
    value: Mapped[float] = mapped_column(Float)
    elapsed: Mapped[float] = mapped_column(Float, default=1.0)
    source: Mapped[str] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Deduction(Timestamped, Base):
    """A proposed deduction (or bonus or veto) against one indicator of the period's catalog.

    ``points`` is what the rule gives at creation (``scoring.propose``); review sets the
    status and, for ``adjusted``, ``adjusted_points``, which then replace the rule's points.
    """

    __tablename__ = "deductions"
    __table_args__ = (
        CheckConstraint("status IN ('proposed','confirmed','adjusted','rejected')", name="status"),
        CheckConstraint("(status = 'adjusted') = (adjusted_points IS NOT NULL)", name="adjusted"),
        CheckConstraint("effect IN ('deduct','add','veto')", name="effect"),
        CheckConstraint("count >= 1", name="count"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    period_code: Mapped[str] = mapped_column(String(100), ForeignKey("periods.code", ondelete="RESTRICT"), index=True)
    unit_code: Mapped[str] = mapped_column(String(100), ForeignKey("units.code", ondelete="RESTRICT"), index=True)
    indicator: Mapped[str] = mapped_column(String(120))
    count: Mapped[int] = mapped_column(Integer, default=1)
    quantity: Mapped[float | None] = mapped_column(Float, nullable=True)
    level: Mapped[str | None] = mapped_column(String(120), nullable=True)
    achievement: Mapped[str | None] = mapped_column(String(200), nullable=True)
    points: Mapped[float] = mapped_column(Float)
    effect: Mapped[str] = mapped_column(String(8))
    staff: Mapped[list[str]] = mapped_column(JSONType, default=list)
    failed_to_deduct_by: Mapped[str | None] = mapped_column(String(50), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    adjusted_points: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The field finding behind it (issue 6); no foreign key until that table exists.
    finding_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    created_by: Mapped[str] = mapped_column(String(64))
