"""Plans, draws, tasks and declared conflicts."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
import sampling
from sampling.seeds import SEED_MAX_LENGTH
from msgspec import Meta

from api.schemas.common import PRINTABLE, Body, Code, Username, trimmed

__all__ = [
    "ConflictCreate", "ConflictOut", "DrawOut", "DrawRecordOut", "DrawRequest", "PlanCreate", "PlanOut", "PlanStatus", "PlanUpdate",
    "TaskOut", "TaskKind", "TaskStatus", "VerifyRequest",
]

UNSET = msgspec.UNSET
Unset = msgspec.UnsetType
TaskKind = Literal["file_review", "field_visit", "callback"]
TaskStatus = Literal["assigned", "in_progress", "submitted", "reviewed"]
PlanStatus = Literal["draft", "drawn"]
Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=PRINTABLE)]
Description = Annotated[str, Meta(max_length=4000)]
Commitment = Annotated[str, Meta(pattern=r"^[0-9a-fA-F]{64}$", description="SHA-256 (hex) of the seed, published before the draw")]
RecentDraws = Annotated[int, Meta(ge=0, le=100, description="Exclude inspector-unit pairs visited in this many latest draws")]


class PlanCreate(Body):
    name: Name
    params: sampling.DrawParams
    due_from: date
    due_to: date
    description: Description | None = None
    period: Code | None = None
    unannounced: bool = True
    exclude_recent_draws: RecentDraws = 0
    seed_commitment: Commitment | None = None

    def __post_init__(self) -> None:
        trimmed(self, "name")


class PlanUpdate(Body):
    name: Name | Unset = UNSET
    params: sampling.DrawParams | Unset = UNSET
    due_from: date | Unset = UNSET
    due_to: date | Unset = UNSET
    description: Description | None | Unset = UNSET
    period: Code | None | Unset = UNSET
    unannounced: bool | Unset = UNSET
    exclude_recent_draws: RecentDraws | Unset = UNSET
    seed_commitment: Commitment | Unset = UNSET

    def __post_init__(self) -> None:
        trimmed(self, "name")


class PlanOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    description: str | None
    period: str | None
    # Echoed as given (validated as sampling.DrawParams on the way in); a plain object here
    # because the OpenAPI schema generated for the constrained types is ambiguous.
    params: dict[str, Any]
    unannounced: bool
    due_from: date
    due_to: date
    exclude_recent_draws: int
    seed_commitment: str | None
    status: PlanStatus
    created_by: str
    created_at: datetime
    updated_at: datetime


class DrawRequest(Body):
    """The revealed seed: either one string, or its public parts (e.g. two witnesses' dice)."""

    seed: Annotated[str, Meta(min_length=1, max_length=SEED_MAX_LENGTH)] | None = None
    seed_parts: Annotated[list[sampling.SeedPart], Meta(min_length=1, max_length=20)] | None = None

    def __post_init__(self) -> None:
        # A published seed is copied by hand and read aloud: surrounding spaces, invisible
        # characters (a zero-width space) or a control character in a part's source make a
        # seed nobody can re-type to check the draw.
        if self.seed is not None:
            _legible("seed", self.seed)
        for index, part in enumerate(self.seed_parts or ()):
            _legible(f"seed_parts[{index}].value", part.value)
            _legible(f"seed_parts[{index}].source", part.source)


def _legible(name: str, text: str) -> None:
    if text != text.strip():
        raise ValueError(f"`{name}` has leading or trailing whitespace")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in text):
        raise ValueError(f"`{name}` holds an invisible or control character")


class DrawOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    plan_id: uuid.UUID
    algorithm: str
    algorithm_version: int
    seed: str
    population_digest: str
    inputs_sha256: str
    drawn_by: str
    drawn_at: datetime
    published_at: datetime | None
    tasks: int = 0


class DrawRecordOut(msgspec.Struct, kw_only=True):
    """A draw with its full record, as a third party needs it to re-check the draw."""

    draw: DrawOut
    record: dict[str, Any] = msgspec.field(default_factory=dict)  # the sampling.Draw record, see docs/sampling.md


class VerifyRequest(Body):
    against: Literal["recorded", "current"] = "recorded"


class TaskOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    plan_id: uuid.UUID
    draw_id: uuid.UUID
    unit_code: str
    unit_name: str
    kind: TaskKind
    draw_rank: int
    team: list[str]
    case_files: list[str]
    due_from: date
    due_to: date
    unannounced: bool
    status: TaskStatus
    updated_at: datetime


class ConflictCreate(Body):
    inspector: Username
    unit_code: Code
    reason: Name


class ConflictOut(msgspec.Struct, kw_only=True):
    id: int
    inspector: str
    unit_code: str
    reason: str
    declared_by: str
    created_at: datetime
