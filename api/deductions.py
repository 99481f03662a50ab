"""Deductions: what findings propose against the period's catalog, and what review decides.

Issue 6 creates them from findings (:func:`create_deduction`), issue 7 decides them
(confirmed, adjusted with ``adjusted_points``, rejected). Scores read them back as scoring
findings (:func:`as_findings`). Functions never commit.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.errors import ValidationFailed
from api.models import Unit
from api.models_scoring import Deduction
from api.periods import catalog_of, check_assessed, open_period
from api.schemas.scoring import DeductionCreate, DeductionStatus
from scoring import Finding, propose
from scoring import Unit as ScoredUnit

__all__ = ["create_deduction", "as_finding", "counted_deductions", "scored_unit", "COUNTED"]

#: The statuses each basis counts: provisional is what is at stake, confirmed what stands.
COUNTED: dict[str, tuple[DeductionStatus, ...]] = {
    "provisional": ("proposed", "confirmed", "adjusted"),
    "confirmed": ("confirmed", "adjusted"),
}


def scored_unit(unit: Unit) -> ScoredUnit:
    return ScoredUnit(code=unit.code, tier=unit.tier)


def as_finding(row: Deduction) -> Finding:
    """A stored deduction as the scoring library's finding; adjusted points replace the rule's."""
    return Finding(
        id=str(row.id), unit=row.unit_code, indicator=row.indicator, count=row.count, quantity=row.quantity,
        level=row.level, achievement=row.achievement, staff=tuple(row.staff), failed_to_deduct_by=row.failed_to_deduct_by,
        status="proposed" if row.status == "proposed" else "confirmed", points=row.adjusted_points,
    )


async def counted_deductions(session: AsyncSession, period_code: str, basis: str) -> list[Deduction]:
    """The period's deductions counted on ``basis`` (rejected ones never count), by creation."""
    query = select(Deduction).where(Deduction.period_code == period_code, Deduction.status.in_(COUNTED[basis]))
    return list((await session.execute(query.order_by(Deduction.created_at, Deduction.id))).scalars())


async def create_deduction(session: AsyncSession, period_code: str, data: DeductionCreate, created_by: str) -> Deduction:
    """Propose a deduction in an open period; its points are computed by the indicator's rule.

    404 for an unknown period, 409 when it is no longer open, 422 for a unit the period does
    not assess or a finding the rule cannot take (unknown indicator, measured indicator,
    missing quantity, unknown level, tier bonus for a unit without a tier).
    """
    period = await open_period(session, period_code)
    if await check_assessed(session, period, {data.unit_code}):
        message = f"unit {data.unit_code!r} is not assessed in period {period.code!r}"
        raise ValidationFailed(f"Invalid input: $.unit_code: {message}", details=[{"path": "$.unit_code", "message": message}])
    unit = (await session.execute(select(Unit).where(Unit.code == data.unit_code))).scalar_one()
    row = Deduction(
        id=uuid.uuid4(), period_code=period.code, unit_code=data.unit_code, indicator=data.indicator, count=data.count,
        quantity=data.quantity, level=data.level, achievement=data.achievement, staff=list(data.staff),
        failed_to_deduct_by=data.failed_to_deduct_by, status="proposed", finding_id=data.finding_id,
        created_by=created_by, points=0.0, effect="deduct",
    )
    proposal = propose(await catalog_of(session, period), as_finding(row), scored_unit(unit))
    row.points, row.effect = proposal.points, proposal.effect
    session.add(row)
    audit.record(session, created_by, "deduction.proposed", "deduction", row.id, None,
                 {"period_code": period.code, "unit_code": data.unit_code, "indicator": data.indicator,
                  "points": row.points, "effect": row.effect, "status": "proposed"})
    await session.flush()
    return row
