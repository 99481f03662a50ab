"""Input records besides units: case files and inspectors."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from .params import FileType

__all__ = ["CaseFile", "Inspector", "Qualification", "QUALIFICATION_FOR_KIND"]

Qualification = Literal["file_review", "field_visit"]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]

# Call-backs are field work (phone or door to door) in the bureaus' rules.
QUALIFICATION_FOR_KIND: dict[str, str] = {
    "file_review": "file_review",
    "field_visit": "field_visit",
    "callback": "field_visit",
}


class CaseFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A case file in a unit's registry; ``file_id`` is unique within the unit."""

    file_id: Id
    file_type: FileType = "other"


class Inspector(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """An inspector on the roster, with what they may do and where they must not go."""

    inspector_id: Id
    qualifications: frozenset[Qualification] = frozenset()
    active: bool = True
    home_unit: Id | None = None
    home_grid: Id | None = None
