"""Field work from phones: check-ins, findings, task submission and batch sync."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import Meta

from api.errors import ErrorBody
from api.schemas.common import PRINTABLE, Body, Code, clock_field

__all__ = [
    "CheckInCreate", "CheckInOut", "FindingCreate", "FindingOut", "FindingUpdate", "SyncOperation",
    "SyncRequest", "SyncResponse", "SyncResult", "MAX_SYNC_OPERATIONS",
]

UNSET = msgspec.UNSET
Unset = msgspec.UnsetType
MAX_SYNC_OPERATIONS = 500
AwareTime = Annotated[datetime, Meta(tz=True, description="ISO 8601 with offset, from the device clock; kept and answered in UTC")]
Note = Annotated[str, Meta(max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
Label = Annotated[str, Meta(min_length=1, max_length=120, pattern=PRINTABLE)]
StaffName = Annotated[str, Meta(min_length=1, max_length=50, pattern=PRINTABLE)]
Count = Annotated[int, Meta(ge=1, le=100_000)]
Quantity = Annotated[float, Meta(ge=0, le=1e9)]


class CheckInCreate(Body):
    id: uuid.UUID
    lat: Annotated[float, Meta(ge=-90, le=90)]
    lon: Annotated[float, Meta(ge=-180, le=180)]
    accuracy_m: Annotated[float, Meta(ge=0, le=100_000)]
    device_time: AwareTime
    kind: Literal["in", "out"] = "in"

    def __post_init__(self) -> None:
        self.device_time = clock_field("device_time", self.device_time)


class CheckInOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    task_id: uuid.UUID
    inspector: str
    kind: Literal["in", "out"]
    lat: float
    lon: float
    accuracy_m: float
    device_time: datetime
    server_time: datetime
    distance_m: float | None
    flags: list[str]


class FindingCreate(Body):
    id: uuid.UUID
    task_id: uuid.UUID
    indicator: Label
    recorded_at: AwareTime
    count: Count = 1
    quantity: Quantity | None = None
    level: Label | None = None
    achievement: Annotated[str, Meta(min_length=1, max_length=200, pattern=PRINTABLE)] | None = None
    note: Note = ""
    case_file: Code | None = None
    staff: Annotated[list[StaffName], Meta(max_length=20)] = []
    evidence_ids: Annotated[list[uuid.UUID], Meta(max_length=50)] = []
    supersedes: uuid.UUID | None = None

    def __post_init__(self) -> None:
        self.recorded_at = clock_field("recorded_at", self.recorded_at)
        once("evidence_ids", self.evidence_ids)


def once(name: str, ids: list[uuid.UUID]) -> None:
    """A photo cited twice is a client's slip that would be stored (and counted) twice."""
    if len(set(ids)) != len(ids):
        raise ValueError(f"`{name}` names a photo more than once")


class FindingUpdate(Body):
    indicator: Label | Unset = UNSET
    count: Count | Unset = UNSET
    quantity: Quantity | None | Unset = UNSET
    level: Label | None | Unset = UNSET
    achievement: Annotated[str, Meta(min_length=1, max_length=200, pattern=PRINTABLE)] | None | Unset = UNSET
    note: Note | Unset = UNSET
    case_file: Code | None | Unset = UNSET
    staff: Annotated[list[StaffName], Meta(max_length=20)] | Unset = UNSET
    evidence_ids: Annotated[list[uuid.UUID], Meta(max_length=50)] | Unset = UNSET

    def __post_init__(self) -> None:
        if not isinstance(self.evidence_ids, msgspec.UnsetType):
            once("evidence_ids", self.evidence_ids)


class FindingOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    task_id: uuid.UUID
    inspector: str
    indicator: str
    count: int
    quantity: float | None
    level: str | None
    achievement: str | None
    note: str
    case_file: str | None
    staff: list[str]
    evidence_ids: list[uuid.UUID]
    recorded_at: datetime
    received_at: datetime
    supersedes: uuid.UUID | None
    superseded_by: uuid.UUID | None
    charged_unit: str
    deduction_id: uuid.UUID | None
    points: float | None
    updated_at: datetime


class CheckInOperation(Body, tag_field="op", tag="check_in"):
    task_id: uuid.UUID
    check_in: CheckInCreate


class FindingOperation(Body, tag_field="op", tag="finding"):
    finding: FindingCreate


class SubmitOperation(Body, tag_field="op", tag="submit"):
    task_id: uuid.UUID


SyncOperation = Union[CheckInOperation, FindingOperation, SubmitOperation]


class SyncRequest(Body):
    """Up to 500 queued operations, applied in order and answered one by one.

    Each element is one of ``{"op": "check_in", "task_id", "check_in": {...}}``,
    ``{"op": "finding", "finding": {...}}`` or ``{"op": "submit", "task_id"}``. An element
    that is malformed fails alone; the others are still applied.
    """

    # Any JSON value per element, so that one which is not an operation at all (null, a
    # number) fails alone, as a malformed operation does.
    operations: Annotated[list[Any], Meta(min_length=1, max_length=MAX_SYNC_OPERATIONS)]


class SyncResult(msgspec.Struct, kw_only=True):
    index: int
    op: str | None
    status: int
    result: Any = None
    error: ErrorBody | None = None


class SyncResponse(msgspec.Struct, kw_only=True):
    server_time: datetime
    results: list[SyncResult]
