"""Units, case files and inspectors: the registry of what is inspected and by whom."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from api.schemas.common import LINE, Body, Code, Text, Username, to_nfc, trimmed

__all__ = [
    "CaseFile",
    "CaseFileCreate",
    "CaseFileUpdate",
    "ImportReport",
    "Inspector",
    "InspectorCreate",
    "InspectorUpdate",
    "RowError",
    "Unit",
    "UnitCreate",
    "UnitUpdate",
]

UNSET = msgspec.UNSET
Unset = msgspec.UnsetType
UnitKind = Literal["office", "entity"]
RiskClass = Literal["I", "II", "III"]
Credit = Literal["A", "B", "C", "D"]
CaseFileType = Literal["registration", "enforcement", "complaint", "other"]
Qualification = Literal["file_review", "field_visit"]
Lat = Annotated[float, Meta(ge=-90, le=90)]
Lon = Annotated[float, Meta(ge=-180, le=180)]
Tier = Annotated[int, Meta(ge=1, le=5)]
Label = Annotated[str, Meta(min_length=1, max_length=100, pattern=LINE)]
Handler = Annotated[str, Meta(min_length=1, max_length=50, pattern=LINE)]


class Unit(msgspec.Struct, kw_only=True):
    code: str
    name: str
    kind: UnitKind
    district: str | None
    grid: str | None
    lat: float | None
    lon: float | None
    risk_class: RiskClass | None
    credit: Credit | None
    tier: int | None
    parent_code: str | None
    updated_at: datetime


class UnitCreate(Body):
    code: Code
    name: Text
    kind: UnitKind
    district: Label | None = None
    grid: Label | None = None
    lat: Lat | None = None
    lon: Lon | None = None
    risk_class: RiskClass | None = None
    credit: Credit | None = None
    tier: Tier | None = None
    parent_code: Code | None = None

    def __post_init__(self) -> None:
        trimmed(self, "name", "district", "grid")
        to_nfc(self, "code", "district", "grid", "parent_code")


class UnitUpdate(Body):
    name: Text | Unset = UNSET
    kind: UnitKind | Unset = UNSET
    district: Label | None | Unset = UNSET
    grid: Label | None | Unset = UNSET
    lat: Lat | None | Unset = UNSET
    lon: Lon | None | Unset = UNSET
    risk_class: RiskClass | None | Unset = UNSET
    credit: Credit | None | Unset = UNSET
    tier: Tier | None | Unset = UNSET
    parent_code: Code | None | Unset = UNSET

    def __post_init__(self) -> None:
        trimmed(self, "name", "district", "grid")
        to_nfc(self, "district", "grid", "parent_code")


class CaseFile(msgspec.Struct, kw_only=True):
    code: str
    unit_code: str
    type: CaseFileType
    closed_on: date | None
    handlers: list[str]
    updated_at: datetime


class CaseFileCreate(Body):
    code: Code
    unit_code: Code
    type: CaseFileType
    closed_on: date | None = None
    handlers: Annotated[list[Handler], Meta(max_length=20)] = []

    def __post_init__(self) -> None:
        trimmed(self, "handlers")
        to_nfc(self, "code", "unit_code")


class CaseFileUpdate(Body):
    unit_code: Code | Unset = UNSET
    type: CaseFileType | Unset = UNSET
    closed_on: date | None | Unset = UNSET
    handlers: Annotated[list[Handler], Meta(max_length=20)] | Unset = UNSET

    def __post_init__(self) -> None:
        trimmed(self, "handlers")
        to_nfc(self, "unit_code")


class Inspector(msgspec.Struct, kw_only=True):
    username: str
    name: str
    home_unit: str | None
    home_grid: str | None
    qualifications: list[Qualification]
    active: bool
    updated_at: datetime


class InspectorCreate(Body):
    username: Username
    name: Label
    home_unit: Code | None = None
    home_grid: Label | None = None
    qualifications: Annotated[list[Qualification], Meta(max_length=2)] = []
    active: bool = True

    def __post_init__(self) -> None:
        trimmed(self, "name", "home_grid")
        to_nfc(self, "home_unit", "home_grid")


class InspectorUpdate(Body):
    name: Label | Unset = UNSET
    home_unit: Code | None | Unset = UNSET
    home_grid: Label | None | Unset = UNSET
    qualifications: Annotated[list[Qualification], Meta(max_length=2)] | Unset = UNSET
    active: bool | Unset = UNSET

    def __post_init__(self) -> None:
        trimmed(self, "name", "home_grid")
        to_nfc(self, "home_unit", "home_grid")


class RowError(msgspec.Struct, kw_only=True):
    """One problem of an import file: spreadsheet row number (header = 1) and column."""

    row: int
    column: str | None
    message: str


class ImportReport(msgspec.Struct, kw_only=True):
    kind: Literal["units", "case-files", "inspectors"]
    rows: int
    created: int
    updated: int
    unchanged: int = 0
    """Stored rows the file repeats as they are: left untouched (their ``updated_at`` too)."""
