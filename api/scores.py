"""Period scores from stored deductions and measurements, by the scoring library.

A period is scored with the catalog and scheme versions it pinned when it opened. The
leaderboard and ranks come from the vectorized scorer over every assessed unit; a unit's
explanation from the explainable scorer (the library's tests hold the two equal). Grades
use the scheme's grading, its lines rescaled when the catalog's scale differs; ranking uses
the scheme's quotas and those of its tie-break codes that name catalog items (component
codes have no meaning within one period).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from msgspec.structs import replace
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.deductions import as_finding, counted_deductions, scored_unit
from api.errors import Forbidden, NotFound
from api.models import Unit
from api.models_scoring import Deduction, Measurement, Period
from api.periods import assessed_units, catalog_of, get_period, scheme_of
from api.schemas import scores as out
from api.security import Principal
from scoring import (
    BatchScores,
    Catalog,
    Finding,
    Grading,
    Ranking,
    Scheme,
    finding_arrays,
    metric_arrays,
    score_batch,
    score_unit,
    staff_totals,
)
from scoring import Measurement as ScoredMeasurement
from scoring import results
from scoring.model import WARNING_LEVELS

__all__ = ["PeriodScores", "check_basis", "own_unit", "visible_leaderboard", "visible_unit_score", "period_scores",
           "unit_score", "leaderboard_rows", "staff_charges", "period_grading", "period_ranking"]


def check_basis(user: Principal, basis: str) -> None:
    """Unit and inspector accounts see confirmed scores only (403 for the provisional basis)."""
    if user.role in ("unit", "inspector") and basis != "confirmed":
        raise Forbidden("Only confirmed scores are shown to this role.", details={"allowed_basis": ["confirmed"]})


def own_unit(user: Principal) -> str | None:
    """The only unit a caller may see scores of, or None for every unit."""
    return user.unit_code if user.role == "unit" else None


def leaderboard_scope(user: Principal, period_status: str) -> str | None:
    """The only row of the leaderboard ``user`` may see (None: every row). Once the period is
    published (一公开) everyone sees every row; before, a unit its own row and an inspector
    nothing (403 ``NOT_PUBLISHED``): scores of an open period invite lobbying (讲情)."""
    if period_status == "published":
        return None
    if user.role == "inspector":
        raise Forbidden("Scores are shown to inspectors once the period is published.",
                        code="NOT_PUBLISHED", details={"period_status": period_status})
    return own_unit(user)


async def visible_unit_score(session: AsyncSession, user: Principal, unit_code: str, period_code: str,
                             basis: str) -> out.UnitScore:
    """A unit's explained score as ``user`` may see it: a unit account only its own unit
    (another unit is a 404, as if it did not exist), confirmed basis only; an inspector once
    the period is published."""
    own = own_unit(user)
    if own is not None and own != unit_code:
        raise NotFound(f"No unit {unit_code!r}.", details={"code": unit_code})
    check_basis(user, basis)
    scored = await period_scores(session, period_code, basis)
    leaderboard_scope(user, scored.period.status)
    return unit_score(scored, unit_code)


async def visible_leaderboard(session: AsyncSession, user: Principal, period_code: str,
                              basis: str) -> tuple[PeriodScores, list[out.LeaderboardRow]]:
    """The leaderboard as ``user`` may see it (:func:`leaderboard_scope`), confirmed basis only
    for units and inspectors."""
    check_basis(user, basis)
    scored = await period_scores(session, period_code, basis)
    return scored, leaderboard_rows(scored, leaderboard_scope(user, scored.period.status))


def period_grading(catalog: Catalog, scheme: Scheme) -> Grading:
    """The scheme's grading on the catalog's scale (85 of 100 is 850 of 1000)."""
    grading = scheme.grading
    if catalog.scale == scheme.scale:
        return grading
    factor = catalog.scale / scheme.scale

    def scaled(line: float | None) -> float | None:
        return None if line is None else round(line * factor, 3)

    return replace(grading, bands=tuple(replace(b, min=scaled(b.min)) for b in grading.bands),
                   pass_line=scaled(grading.pass_line), accountability_line=scaled(grading.accountability_line))


def period_ranking(catalog: Catalog, scheme: Scheme) -> Ranking:
    ranking = scheme.ranking or Ranking()
    items = {item.code for item in catalog.items}
    return replace(ranking, tie_break=tuple(code for code in ranking.tie_break if code in items))


@dataclass(frozen=True)
class PeriodScores:
    """Everything scored in a period on one basis."""

    period: Period
    basis: str
    catalog: Catalog
    grading: Grading
    units: list[Unit]
    deductions: dict[str, Deduction]
    findings: list[Finding]
    measurements: list[ScoredMeasurement]
    batch: BatchScores

    def position(self, unit_code: str) -> int | None:
        return next((n for n, u in enumerate(self.units) if u.code == unit_code), None)


async def period_scores(session: AsyncSession, period_code: str, basis: str) -> PeriodScores:
    """Score every unit the period assesses on ``basis``; 404 for an unknown period."""
    period = await get_period(session, period_code)
    catalog, scheme = await catalog_of(session, period), await scheme_of(session, period)
    units = await assessed_units(session, period)
    codes = {u.code for u in units}
    # A unit that left the period's scope after its data was entered is no longer scored.
    rows = [d for d in await counted_deductions(session, period.code, basis) if d.unit_code in codes]
    measured = (await session.execute(
        select(Measurement).where(Measurement.period_code == period.code).order_by(Measurement.id)
    )).scalars()
    measurements = [
        ScoredMeasurement(id=str(m.id), unit=m.unit_code, period=period.code, metric=m.metric, value=m.value,
                          source=m.source, elapsed=m.elapsed)
        for m in measured if m.unit_code in codes
    ]
    findings = [as_finding(d) for d in rows]
    scored = [scored_unit(u) for u in units]
    grading = period_grading(catalog, scheme)
    batch = score_batch(catalog, scored, finding_arrays(catalog, scored, findings),
                        metric_arrays(catalog, scored, measurements, period.code), basis=basis,  # type: ignore[arg-type]
                        grading=grading, ranking=period_ranking(catalog, scheme))
    return PeriodScores(period=period, basis=basis, catalog=catalog, grading=grading, units=units,
                        deductions={str(d.id): d for d in rows}, findings=findings,
                        measurements=measurements, batch=batch)


def leaderboard_rows(scores: PeriodScores, unit_code: str | None = None) -> list[out.LeaderboardRow]:
    """Rows by rank (then unit code), only ``unit_code``'s when given."""
    b = scores.batch
    rows = []
    for n, unit in enumerate(scores.units):
        if unit_code is not None and unit.code != unit_code:
            continue
        level = int(b.warning_level[n])
        rows.append(out.LeaderboardRow(
            rank=int(b.rank[n]), unit_code=unit.code, unit_name=unit.name, total=float(b.total[n]),  # type: ignore[index]
            items=[out.ItemPoints(code=c, score=float(b.items[n, k])) for k, c in enumerate(b.item_codes)],
            grade=b.grade[n] if b.grade else None,
            passed=None if b.passed is None else bool(b.passed[n]),
            accountability=None if b.accountability is None else bool(b.accountability[n]),
            commended=bool(b.commended[n]), flagged=bool(b.flagged[n]), vetoed=bool(b.vetoed[n]),  # type: ignore[index]
            warning_level=WARNING_LEVELS[level - 1] if level else None,  # type: ignore[arg-type]
            warnings=int(b.warnings[n]),
        ))
    rows.sort(key=lambda r: (r.rank, r.unit_code))
    return rows


def unit_score(scores: PeriodScores, unit_code: str) -> out.UnitScore:
    """One unit's explained score; 404 when the period does not assess it."""
    n = scores.position(unit_code)
    if n is None:
        raise NotFound(f"Unit {unit_code!r} is not assessed in period {scores.period.code!r}.",
                       details={"unit_code": unit_code, "period": scores.period.code})
    unit = scores.units[n]
    explained = score_unit(
        scores.catalog, scored_unit(unit), [f for f in scores.findings if f.unit == unit_code],
        [m for m in scores.measurements if m.unit == unit_code], period=scores.period.code,
        basis=scores.basis, grading=scores.grading,  # type: ignore[arg-type]
    )
    period, b = scores.period, scores.batch
    return out.UnitScore(
        period_code=period.code, unit_code=unit.code, unit_name=unit.name, basis=scores.basis,  # type: ignore[arg-type]
        catalog_code=period.catalog_code, catalog_version=period.catalog_version,
        scheme_code=period.scheme_code, scheme_version=period.scheme_version, scale=explained.scale,
        total=explained.total, scored_total=explained.scored_total, bonus=explained.bonus,
        bonus_capped=explained.bonus_capped, penalty=explained.penalty, vetoed=explained.vetoed,
        vetoes=[out.VetoRef(indicator=v.indicator, **_ids(scores, v.finding)) for v in explained.vetoes],
        warnings=list(explained.warnings), missing_metrics=list(explained.missing_metrics),
        grade=explained.grade, passed=explained.passed, accountability=explained.accountability,
        rank=int(b.rank[n]), commended=bool(b.commended[n]), flagged=bool(b.flagged[n]),  # type: ignore[index]
        items=[_item(scores, item) for item in explained.items],
    )


def _ids(scores: PeriodScores, deduction_id: str) -> dict[str, uuid.UUID | None]:
    return {"deduction_id": uuid.UUID(deduction_id), "finding_id": scores.deductions[deduction_id].finding_id}


def _indicator(scores: PeriodScores, ind: results.IndicatorScore) -> out.IndicatorScore:
    deductions = [
        out.ScoredDeduction(**_ids(scores, line.finding), status=scores.deductions[line.finding].status,  # type: ignore[arg-type]
                            points=line.points, effect=line.effect, counted=line.counted, staff=list(line.staff),
                            explanation=line.explanation)
        for line in ind.lines
    ]
    return out.IndicatorScore(code=ind.code, name=ind.name, name_en=ind.name_en, rule=ind.rule, deducted=ind.deducted,
                              added=ind.added, capped=ind.capped, deductions=deductions, measurement=ind.measurement,
                              missing_measurement=ind.missing_measurement, warning=ind.warning)


def _item(scores: PeriodScores, item: results.ItemScore) -> out.ItemScore:
    subs = [out.SubItemScore(code=s.code, name=s.name, name_en=s.name_en, deducted=s.deducted, added=s.added,
                             indicators=[_indicator(scores, i) for i in s.indicators]) for s in item.sub_items]
    return out.ItemScore(code=item.code, name=item.name, name_en=item.name_en, kind=item.kind,  # type: ignore[arg-type]
                         points=item.points, deducted=item.deducted, added=item.added, score=item.score,
                         floored=item.floored, capped=item.capped,
                         indicators=[_indicator(scores, i) for i in item.indicators], sub_items=subs)


def staff_charges(scores: PeriodScores, unit_code: str | None = None) -> list[out.StaffTotal]:
    """Points charged to each responsible person, from ``unit_code``'s deductions only when given."""
    findings = [f for f in scores.findings if unit_code is None or f.unit == unit_code]
    totals = staff_totals(scores.catalog, findings, basis=scores.basis)  # type: ignore[arg-type]
    return [
        out.StaffTotal(staff=t.staff, points=t.points, charges=[
            out.StaffCharge(**_ids(scores, c.finding), unit_code=c.unit, indicator=c.indicator, points=c.points, role=c.role)
            for c in t.charges
        ])
        for t in totals
    ]
