"""Helpers for the scoring API tests: shipped documents, periods, deductions in any status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import scoring
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.deductions import create_deduction
from api.importing import import_records
from api.models_scoring import Deduction
from api.registry import UNITS
from api.schemas.scoring import DeductionCreate

__all__ = ["SHIPPED", "shipped_bytes", "load_shipped", "open_period", "insert_deduction", "add_offices"]

SHIPPED = Path(scoring.__file__).resolve().parent / "catalogs"


def shipped_bytes(name: str) -> bytes:
    """A shipped file by its name without suffix, e.g. ``office_deductions.catalog``."""
    return (SHIPPED / f"{name}.yaml").read_bytes()


async def load_shipped(client: AsyncTestClient[Litestar], headers: dict[str, str], *names: str) -> None:
    for name in names:
        kind = "catalogs" if name.endswith(".catalog") else "schemes"
        r = await client.post(f"/api/v1/{kind}", content=shipped_bytes(name), headers={**headers, "Content-Type": "application/yaml"})
        assert r.status_code in (200, 201), r.text


async def open_period(client: AsyncTestClient[Litestar], headers: dict[str, str], code: str = "2026-H2", *,
                      catalog: str = "office_deductions", scheme: str = "branch_annual", **extra: Any) -> dict[str, Any]:
    body = {"code": code, "name": "2026年下半年", "starts_on": "2026-07-01", "ends_on": "2026-12-31",
            "catalog_code": catalog, "scheme_code": scheme, "parent_code": "DG", **extra}
    r = await client.post("/api/v1/periods", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def insert_deduction(db: async_sessionmaker[AsyncSession], period: str, unit_code: str, indicator: str, *,
                           status: str = "proposed", adjusted_points: float | None = None, **fields: Any) -> str:
    """Propose a deduction through the service issue 6 calls, then give it the ``status``
    review (issue 7) would; returns its id."""
    async with db() as session:
        row = await create_deduction(session, period, DeductionCreate(unit_code=unit_code, indicator=indicator, **fields), "test")
        if status != "proposed":
            await session.execute(update(Deduction).where(Deduction.id == row.id).values(status=status, adjusted_points=adjusted_points))
        await session.commit()
        return str(row.id)


async def add_offices(db: async_sessionmaker[AsyncSession], *codes: str, parent: str = "DG") -> None:
    async with db() as session:
        await import_records(session, UNITS, [{"code": c, "name": f"{c}分局", "kind": "office", "parent_code": parent} for c in codes])
        await session.commit()
