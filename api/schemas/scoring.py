"""Catalog and scheme versions, periods, measurements and deductions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from api.schemas.common import Body, Code, Text
from api.schemas.registry import Handler, UnitKind
from scoring.model import Code as CatalogCode

__all__ = [
    "DeductionCreate",
    "DeductionStatus",
    "DocumentKind",
    "DocumentVersion",
    "DocumentDetail",
    "MeasurementImport",
    "MeasurementOut",
    "MeasurementUpsert",
    "PeriodCreate",
    "PeriodOut",
    "PeriodStatus",
    "ShippedDocument",
    "Version",
]

DocumentKind = Literal["catalog", "scheme"]
PeriodStatus = Literal["open", "locked", "published"]
DeductionStatus = Literal["proposed", "confirmed", "adjusted", "rejected"]
# Stored in a 32-bit integer column on every backend.
Version = Annotated[int, Meta(ge=1, le=2**31 - 1)]
MetricValue = Annotated[float, Meta(ge=-1e12, le=1e12)]
Elapsed = Annotated[float, Meta(gt=0, le=1)]


class DocumentVersion(msgspec.Struct, kw_only=True):
    """A loaded catalog or scheme version, without its document."""

    kind: DocumentKind
    code: str
    version: int
    name: str
    name_en: str
    sha256: str
    loaded_by: str
    loaded_at: datetime


class DocumentDetail(DocumentVersion, kw_only=True):
    """A loaded version with its canonical document (the validated catalog or scheme)."""

    document: dict[str, Any]


class ShippedDocument(msgspec.Struct, kw_only=True):
    """A catalog or scheme shipped with Spotcheck; ``loaded`` if this version is in the database."""

    kind: DocumentKind
    code: str
    version: int
    name: str
    name_en: str
    file: str
    loaded: bool


class PeriodCreate(Body, kw_only=True):
    """Open a period. Versions default to the latest loaded; the assessed units are the units
    of ``unit_kind``, restricted to the children of ``parent_code`` when given."""

    code: Code
    name: Text
    starts_on: date
    ends_on: date
    catalog_code: CatalogCode
    catalog_version: Version | None = None
    scheme_code: CatalogCode
    scheme_version: Version | None = None
    unit_kind: UnitKind = "office"
    parent_code: Code | None = None


class PeriodOut(msgspec.Struct, kw_only=True):
    code: str
    name: str
    starts_on: date
    ends_on: date
    status: PeriodStatus
    catalog_code: str
    catalog_version: int
    scheme_code: str
    scheme_version: int
    unit_kind: UnitKind
    parent_code: str | None
    opened_by: str
    created_at: datetime


class MeasurementUpsert(Body):
    """A value of one metric for one unit; ``source`` names the business system it came from.
    ``elapsed`` is the share of the period gone when it was taken (staged targets)."""

    unit_code: Code
    metric: CatalogCode
    value: MetricValue
    source: Text
    elapsed: Elapsed = 1.0


class MeasurementOut(msgspec.Struct, kw_only=True):
    period_code: str
    unit_code: str
    metric: str
    value: float
    elapsed: float
    source: str
    recorded_by: str
    recorded_at: datetime


class MeasurementImport(msgspec.Struct, kw_only=True):
    period_code: str
    rows: int
    created: int
    updated: int


class DeductionCreate(Body):
    """A deduction (or bonus or veto) proposed against one indicator of the period's catalog.

    ``count`` for per-occurrence rules, ``quantity`` for per-quantity rules, ``level`` and
    ``achievement`` for level tables; ``staff`` are the responsible people and
    ``failed_to_deduct_by`` a unit head who should have deducted and did not.
    """

    unit_code: Code
    indicator: CatalogCode
    count: Annotated[int, Meta(ge=1, le=1_000_000)] = 1
    quantity: Annotated[float, Meta(ge=0, le=1e9)] | None = None
    level: CatalogCode | None = None
    achievement: Text | None = None
    staff: Annotated[list[Handler], Meta(max_length=20)] = []
    failed_to_deduct_by: Handler | None = None
    finding_id: uuid.UUID | None = None
