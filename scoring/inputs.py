"""What scoring consumes: units, findings and measurements.

Findings (from inspectors) feed finding rules; measurements (rates and counts
from the bureau's business systems) feed target rules. Ids are passed through
to results so ``api/`` can link a score back to its findings and evidence.
"""

from __future__ import annotations

from typing import Annotated, Iterable, Literal

from msgspec import Meta, Struct

from .errors import InputError
from .model import Catalog

__all__ = ["Unit", "Finding", "Measurement", "Basis", "select", "unit_tier"]

Ref = Annotated[str, Meta(min_length=1, max_length=200)]
#: ``provisional`` counts every finding passed in; ``confirmed`` only confirmed ones.
Basis = Literal["provisional", "confirmed"]


class _Input(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class Unit(_Input):
    """An assessed unit; ``tier`` wins over ``entities`` when both are given."""

    code: Ref
    entities: Annotated[int, Meta(ge=0)] | None = None
    tier: Annotated[int, Meta(ge=1)] | None = None


class Finding(_Input):
    """A finding as a deduction (or bonus/veto) request against one indicator.

    ``count`` occurrences for per-occurrence rules; ``quantity`` for
    per-quantity rules; ``level`` and ``achievement`` for level-table bonuses
    (awards for one achievement share an ``achievement`` key). ``staff`` are
    the responsible people; ``failed_to_deduct_by`` names a unit head who
    should have deducted and did not (charged double). ``points``, when set,
    are the points decided on review (an adjusted deduction): they replace
    what the rule gives, after the rule has checked the finding.
    """

    id: Ref
    unit: Ref
    indicator: Ref
    count: Annotated[int, Meta(ge=1, le=1_000_000)] = 1
    quantity: Annotated[float, Meta(ge=0, le=1e9)] | None = None
    level: Ref | None = None
    achievement: Ref | None = None
    staff: tuple[Ref, ...] = ()
    failed_to_deduct_by: Ref | None = None
    status: Literal["proposed", "confirmed"] = "proposed"
    points: Annotated[float, Meta(ge=0, le=1_000_000)] | None = None


class Measurement(_Input):
    """A value of ``metric`` for a unit and period, with where it came from.

    Rates are in percent (95.0 means 95 %). ``elapsed`` is the share of the
    period gone when the value was taken, for staged targets.
    """

    id: Ref
    unit: Ref
    period: Ref
    metric: Ref
    value: Annotated[float, Meta(ge=-1e12, le=1e12)]
    source: Ref
    elapsed: Annotated[float, Meta(gt=0, le=1)] = 1.0


def select(findings: Iterable[Finding], basis: Basis) -> list[Finding]:
    """The findings counted on ``basis``: all of them, or only the confirmed ones."""
    if basis == "provisional":
        return list(findings)
    if basis == "confirmed":
        return [f for f in findings if f.status == "confirmed"]
    raise ValueError(f"basis must be 'provisional' or 'confirmed', not {basis!r}")


def unit_tier(catalog: Catalog, unit: Unit) -> int:
    """The unit's tier: ``unit.tier``, else the first catalog tier its entities reach."""
    tiers = catalog.unit_tiers
    if unit.tier is not None:
        if not 1 <= unit.tier <= len(tiers):
            raise InputError(f"tier {unit.tier} is not a tier of catalog {catalog.code}", unit.code)
        return unit.tier
    if unit.entities is None:
        raise InputError("a tier-scaled bonus needs the unit's tier or entities", unit.code)
    for tier in tiers:
        if unit.entities >= tier.min_entities:
            return tier.tier
    raise InputError(f"catalog {catalog.code} has no unit tiers", unit.code)
