"""SQLAlchemy models of the foundation: accounts, login throttling and the registry."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, JSONType, UTCDateTime, utcnow

__all__ = ["User", "LoginThrottle", "Unit", "CaseFile", "Inspector", "ROLES", "USERNAME_KEY_LENGTH", "username_key"]

ROLES = ("admin", "chief", "inspector", "unit")


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


USERNAME_KEY_LENGTH = 64


def username_key(username: str) -> str:
    """The form under which two usernames are one name: ``ZhangWei``, ``zhangwei`` and
    ``ｚｈａｎｇｗｅｉ`` (full-width, as a Chinese IME types it) are one account. NFKC, case
    folding, NFKC again (folding can leave text that is not NFKC: Unicode's NFKC_Casefold).
    Migrations 0010 and 0011 keep their own copies: change all or none."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def _username_key_default(context: Any) -> str:
    return username_key(context.get_current_parameters()["username"])


class User(Timestamped, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin','chief','inspector','unit')", name="role"),
        # A unit account is bound to exactly one unit; other roles to none.
        CheckConstraint("(role = 'unit') = (unit_code IS NOT NULL)", name="unit_binding"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # As typed at creation, shown everywhere and stored wherever a user is named (teams,
    # audit, decisions): the canonical spelling.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # What uniqueness and every lookup by name compare on; derived from ``username`` when an
    # insert leaves it out, so no writer can store a key that disagrees with the name.
    username_key: Mapped[str] = mapped_column(String(USERNAME_KEY_LENGTH), unique=True, default=_username_key_default)
    role: Mapped[str] = mapped_column(String(16))
    unit_code: Mapped[str | None] = mapped_column(
        String(100), ForeignKey("units.code", ondelete="RESTRICT"), nullable=True, index=True
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on logout, password change or role change: older tokens stop working.
    token_version: Mapped[int] = mapped_column(Integer, default=0)


class LoginThrottle(Base):
    """Login attempts per username since its last success (counted before the password is
    checked: api.security.authenticate), in the database so every worker sees it. Keyed on
    :func:`username_key` of the name typed, so retyping it in another case is the same name."""

    __tablename__ = "login_throttle"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Unit(Timestamped, Base):
    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint("kind IN ('office','entity')", name="kind"),
        CheckConstraint("risk_class IS NULL OR risk_class IN ('I','II','III')", name="risk_class"),
        CheckConstraint("credit IS NULL OR credit IN ('A','B','C','D')", name="credit"),
        CheckConstraint("tier IS NULL OR (tier >= 1 AND tier <= 5)", name="tier"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    district: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    grid: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    risk_class: Mapped[str | None] = mapped_column(String(3), nullable=True)
    credit: Mapped[str | None] = mapped_column(String(1), nullable=True)
    tier: Mapped[int | None] = mapped_column(Integer, nullable=True)
    parent_code: Mapped[str | None] = mapped_column(
        String(100), ForeignKey("units.code", ondelete="RESTRICT"), nullable=True, index=True
    )


class CaseFile(Timestamped, Base):
    __tablename__ = "case_files"
    __table_args__ = (
        CheckConstraint(
            "type IN ('registration','enforcement','complaint','other')", name="type"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    unit_code: Mapped[str] = mapped_column(
        String(100), ForeignKey("units.code", ondelete="RESTRICT"), index=True
    )
    type: Mapped[str] = mapped_column(String(16))
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    handlers: Mapped[list[str]] = mapped_column(JSONType, default=list)


class Inspector(Timestamped, Base):
    __tablename__ = "inspectors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # As typed at creation: teams, conflicts and the draw name the inspector by it, and the
    # login account must be spelled the same (api.accounts) to see their tasks.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # One record per person: ``insp01`` and ``Insp01`` are one name, as for accounts
    # (User.username_key); derived from ``username`` when an insert leaves it out. A unique
    # index, not a constraint: migration 0011 adds it without rebuilding the table on SQLite.
    username_key: Mapped[str] = mapped_column(String(USERNAME_KEY_LENGTH), unique=True, index=True,
                                              default=_username_key_default)
    name: Mapped[str] = mapped_column(String(100))
    home_unit: Mapped[str | None] = mapped_column(
        String(100), ForeignKey("units.code", ondelete="RESTRICT"), nullable=True, index=True
    )
    home_grid: Mapped[str | None] = mapped_column(String(100), nullable=True)
    qualifications: Mapped[list[str]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
