"""Draw parameters as msgspec Structs, ready to be embedded in API request bodies.

Structs are frozen, refuse unknown fields and carry ``Meta`` constraints; cross-field
rules live in ``__post_init__``, which msgspec turns into a ``ValidationError`` on
decode. Rounding rule of every quota (``target``), documented in docs/sampling.md:

    base   = size                      if size is given
           = ceil(rate * N)            with rate read as its shortest decimal ("0.05")
    base   = max(base, min)            if min is given
    base   = min(base, max)            if max is given
    target = min(base, N)              a stratum smaller than its target is taken whole
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Annotated, Literal

import msgspec

__all__ = [
    "AlgorithmName",
    "AssignmentParams",
    "CaseFileSampling",
    "DrawParams",
    "FieldName",
    "FileType",
    "Quota",
    "StratumRule",
    "TaskKind",
    "UnitSampling",
    "target",
]

AlgorithmName = Literal["consistent-sha256", "philox-keyed"]
FileType = Literal["registration", "enforcement", "complaint", "other"]
TaskKind = Literal["file_review", "field_visit", "callback"]
FieldName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="snake_case field name")]
Count = Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]
Rate = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Value = Annotated[str, msgspec.Meta(max_length=200)]


class Quota(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """How many to take from a group: a ``size`` or a ``rate``, optionally clamped."""

    size: Count | None = None
    rate: Rate | None = None
    min: Count | None = None
    max: Count | None = None

    def __post_init__(self) -> None:
        if (self.size is None) == (self.rate is None):
            raise ValueError("give exactly one of `size` and `rate`")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("`min` must not exceed `max`")


@lru_cache(maxsize=1024)
def _decimal_rate(rate: float) -> Fraction:
    # repr() is the shortest decimal that round-trips: 0.05 is 1/20, not 0.05000000000000000277.
    return Fraction(repr(rate))


def target(quota: Quota, available: int) -> int:
    """Return how many of ``available`` items ``quota`` asks for (rule in module docstring)."""
    if quota.size is not None:
        base = quota.size
    else:
        rate = _decimal_rate(quota.rate)
        base = -((-rate.numerator * available) // rate.denominator)
    if quota.min is not None:
        base = max(base, quota.min)
    if quota.max is not None:
        base = min(base, quota.max)
    return min(base, available)


class StratumRule(Quota, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A quota for the strata whose values match ``where`` (a partial match is allowed).

    ``where`` maps stratification fields to values; ``{}`` matches every stratum. For each
    stratum the first matching rule in the list applies.
    """

    where: dict[FieldName, Value] = {}


class UnitSampling(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Stratified sampling of units without replacement.

    ``filter`` keeps only units whose value of each named field is among the allowed
    values; strata are the distinct combinations of ``stratify_by`` values among the
    kept units (one stratum if empty).
    """

    rules: Annotated[tuple[StratumRule, ...], msgspec.Meta(min_length=1, max_length=1000)]
    stratify_by: Annotated[tuple[FieldName, ...], msgspec.Meta(max_length=8)] = ()
    filter: dict[FieldName, Annotated[tuple[Value, ...], msgspec.Meta(min_length=1, max_length=1000)]] = {}

    def __post_init__(self) -> None:
        if len(set(self.stratify_by)) != len(self.stratify_by):
            raise ValueError("`stratify_by` names a field twice")
        for number, rule in enumerate(self.rules):
            unknown = set(rule.where) - set(self.stratify_by)
            if unknown:
                raise ValueError(f"rule {number} matches on {sorted(unknown)}, which are not in `stratify_by`")

    def fields(self) -> frozenset[str]:
        """Population fields these parameters read."""
        return frozenset(self.stratify_by) | frozenset(self.filter)


class CaseFileSampling(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Case files drawn within each selected unit.

    ``per_unit``: one quota over all the unit's files. ``per_type``: one quota per file
    type (stratified by type); types not named are not drawn. Give exactly one.
    """

    per_unit: Quota | None = None
    per_type: dict[FileType, Quota] | None = None

    def __post_init__(self) -> None:
        if (self.per_unit is None) == (self.per_type is None):
            raise ValueError("give exactly one of `per_unit` and `per_type`")
        if self.per_type is not None and not self.per_type:
            raise ValueError("`per_type` must name at least one file type")


class AssignmentParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Inspector teams: one task per selected unit and kind, each staffed by ``team_size``.

    ``grid_field`` is the population field holding a unit's grid (for the home-grid rule).
    """

    task_kinds: Annotated[tuple[TaskKind, ...], msgspec.Meta(min_length=1, max_length=3)] = ("field_visit",)
    team_size: Annotated[int, msgspec.Meta(ge=1, le=10)] = 2
    grid_field: FieldName = "grid"

    def __post_init__(self) -> None:
        if len(set(self.task_kinds)) != len(self.task_kinds):
            raise ValueError("`task_kinds` names a kind twice")


class DrawParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Everything a draw needs besides the seed and the input records."""

    units: UnitSampling
    algorithm: AlgorithmName = "consistent-sha256"
    case_files: CaseFileSampling | None = None
    assignment: AssignmentParams | None = AssignmentParams()
