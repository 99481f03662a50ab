"""The demo's scoring data: the shipped catalogs, the branch-office annual scheme and an open
period with a few measurements and proposed deductions, drawn from a fixed seed.

The deductions stay proposed (review is another issue), so the demo leaderboard differs
between ``basis=provisional`` and ``basis=confirmed``.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from api import documents, measurements
from api.deductions import create_deduction
from api.periods import create_period
from api.schemas.scoring import DeductionCreate, MeasurementUpsert, PeriodCreate
from scoring import list_shipped, shipped_catalog, shipped_scheme

__all__ = ["DEMO_PERIOD", "load_scoring_demo"]

DEMO_PERIOD = "2026-H2"
DEMO_SCHEME = "branch_annual"
DEMO_CATALOG = "dongguan_branch_2010"
LOADED_BY = "demo"
# (metric, elapsed, values drawn from): mid-period annual inspection shows staged warnings.
_METRICS = (
    ("mystery_shopping_stars", 1.0, (5.0, 5.0, 4.5, 4.5, 4.0, 3.5)),
    ("complaint_handling_rate", 1.0, (100.0, 100.0, 99.0, 97.5, 95.0)),
    ("annual_inspection_rate", 0.75, (91.0, 88.5, 86.0, 84.0, 79.5, 74.0)),
)
# (indicator, extra fields): findings a spot check plausibly proposes.
_DEDUCTIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("registration.file_quality.beyond_time_limit", {"count": 2}),
    ("registration.file_quality.conditions_not_met", {}),
    ("enforcement.case_quality.evidence_insufficient", {}),
    ("enforcement.case_quality.unlawful_procedure", {"count": 2}),
    ("inspection.off_post", {}),
    ("inspection.window_conduct", {"count": 3}),
    ("bonus.commendation", {"level": "city", "achievement": "食品安全示范街创建"}),
    ("discipline.minor_sanction", {}),
)


async def load_scoring_demo(session: AsyncSession, offices: list[str], handlers: list[str], seed: int) -> None:
    """Load the scoring demo for the branch ``offices``; ``handlers`` name the staff charged."""
    for entry in list_shipped():
        if entry.kind == "catalog" or entry.code == DEMO_SCHEME:
            document = shipped_catalog(entry.code) if entry.kind == "catalog" else shipped_scheme(entry.code)
            await documents.store(session, documents.KINDS[entry.kind], msgspec.json.encode(document), "json", LOADED_BY)
    period = await create_period(session, PeriodCreate(
        code=DEMO_PERIOD, name="2026年下半年基层分局绩效考核", starts_on=date(2026, 7, 1), ends_on=date(2026, 12, 31),
        catalog_code=DEMO_CATALOG, scheme_code=DEMO_SCHEME, unit_kind="office", parent_code="DG",
    ), LOADED_BY)
    rng = random.Random(seed)
    await measurements.upsert_many(session, period, [
        MeasurementUpsert(unit_code=office, metric=metric, value=rng.choice(values), source="东莞市场监管业务系统", elapsed=elapsed)
        for office in offices for metric, elapsed, values in _METRICS
    ], LOADED_BY)
    indicators = {i.code for _, _, i in shipped_catalog(DEMO_CATALOG).indicators()}
    for indicator, extra in _DEDUCTIONS:
        assert indicator in indicators, indicator
        data = DeductionCreate(unit_code=rng.choice(offices), indicator=indicator, staff=[rng.choice(handlers)], **extra)
        await create_deduction(session, DEMO_PERIOD, data, LOADED_BY)
