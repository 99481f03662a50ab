"""Measurements: rates and counts from the bureau's business systems, one per (period, unit,
metric), feeding the catalog's target rules. Upserted one at a time or imported from CSV/XLSX
(all or nothing, like the registry import). Functions never commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import anyio
from sqlalchemy import insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.errors import ValidationFailed
from api.importing import ImportInvalid, chunks, parse_records, raise_if_errors, record_import
from api.tables import read_table
from api.models_scoring import Measurement, Period
from api.periods import catalog_of, check_assessed
from api.schemas.registry import RowError
from api.schemas.scoring import MeasurementImport, MeasurementOut, MeasurementUpsert
from api.db import utcnow
from scoring.index import catalog_index

__all__ = ["upsert", "upsert_many", "import_file", "measurement_out"]

KEY = ("unit_code", "metric")


def measurement_out(row: Measurement) -> MeasurementOut:
    return MeasurementOut(period_code=row.period_code, unit_code=row.unit_code, metric=row.metric, value=row.value,
                          elapsed=row.elapsed, source=row.source, recorded_by=row.recorded_by, recorded_at=row.recorded_at)


async def _problems(session: AsyncSession, period: Period, rows: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    """``(row index, field, message)`` for units the period does not assess and metrics its
    catalog does not read."""
    metrics = catalog_index(await catalog_of(session, period)).metrics
    outside = await check_assessed(session, period, {r["unit_code"] for r in rows})
    problems = []
    for n, r in enumerate(rows):
        if r["unit_code"] in outside:
            problems.append((n, "unit_code", f"unit {r['unit_code']!r} is not assessed in period {period.code!r}"))
        if r["metric"] not in metrics:
            problems.append((n, "metric", f"catalog {period.catalog_code} v{period.catalog_version} reads no metric "
                                          f"{r['metric']!r}; its metrics: {', '.join(metrics) or 'none'}"))
    return problems


async def upsert(session: AsyncSession, period: Period, data: MeasurementUpsert, recorded_by: str) -> Measurement:
    """Set the unit's value of the metric in the period, with its source."""
    return (await _upsert(session, period, [data], recorded_by, lambda _: "$"))[0]


async def upsert_many(session: AsyncSession, period: Period, items: Sequence[MeasurementUpsert],
                      recorded_by: str) -> list[Measurement]:
    """:func:`upsert` each of ``items`` in turn (a unit's metric given twice: the later value
    wins), checked together: one :class:`ValidationFailed` names every problem (paths
    ``$[n].field``) and nothing is written; each change is audited as by :func:`upsert`."""
    return await _upsert(session, period, items, recorded_by, lambda n: f"$[{n}]")


async def _upsert(session: AsyncSession, period: Period, items: Sequence[MeasurementUpsert], recorded_by: str,
                  where: Callable[[int], str]) -> list[Measurement]:
    problems = await _problems(session, period, [{"unit_code": d.unit_code, "metric": d.metric} for d in items])
    if problems:
        errors = [{"path": f"{where(n)}.{field}", "message": message} for n, field, message in problems]
        raise ValidationFailed(f"Invalid input: {errors[0]['path']}: {errors[0]['message']}", details=errors)
    found = {(r.unit_code, r.metric): r for r in (await session.execute(select(Measurement).where(
        Measurement.period_code == period.code,
        tuple_(Measurement.unit_code, Measurement.metric).in_([(d.unit_code, d.metric) for d in items]),
    ))).scalars()}
    stored = []
    for data in items:
        row = found.get((data.unit_code, data.metric))
        new = {"value": data.value, "elapsed": data.elapsed, "source": data.source}
        key = f"{period.code}:{data.unit_code}:{data.metric}"
        if row is None:
            row = found[(data.unit_code, data.metric)] = Measurement(period_code=period.code, unit_code=data.unit_code,
                                                                     metric=data.metric)
            session.add(row)
            audit.record(session, recorded_by, "measurement.created", "measurement", key, None, new)
        else:
            # The same values sent again by the same person change nothing worth an event.
            audit.record_changes(session, recorded_by, "measurement.updated", "measurement", key,
                                 {"value": row.value, "elapsed": row.elapsed, "source": row.source, "recorded_by": row.recorded_by},
                                 {**new, "recorded_by": recorded_by})
        row.value, row.elapsed, row.source = data.value, data.elapsed, data.source
        row.recorded_by, row.recorded_at = recorded_by, utcnow()
        stored.append(row)
    await session.flush()
    return stored


async def import_file(session: AsyncSession, period: Period, data: bytes, recorded_by: str,
                      file_name: str | None = None) -> MeasurementImport:
    """Check every row, then upsert all of them; :class:`ImportInvalid` (nothing written) on
    any problem. Columns: unit_code, metric, value, source and optionally elapsed. One audit
    event records the import."""
    try:
        # Reading a large workbook takes seconds: off the event loop, as the registry's import.
        header, body = await anyio.to_thread.run_sync(read_table, data)
    except ValueError as exc:
        raise ImportInvalid([RowError(row=1, column=None, message=str(exc))], 1) from None
    records, errors = await anyio.to_thread.run_sync(parse_records, MeasurementUpsert, KEY, header, body)
    if not errors and not records:
        errors = [RowError(row=2, column=None, message="the file has no data rows")]
    if records and not any(e.row == 1 for e in errors):
        checkable = [(number, v) for number, v in records if all(isinstance(v.get(k), str) for k in KEY)]
        problems = await _problems(session, period, [v for _, v in checkable])
        errors += [RowError(row=checkable[n][0], column=field, message=message) for n, field, message in problems]
    raise_if_errors(errors)
    created, updated = await _apply(session, period, [v for _, v in records], recorded_by)
    record_import(session, recorded_by, "measurement.imported", hashlib.sha256(data).hexdigest(), file_name,
                  {"period_code": period.code, "rows": len(records), "created": created, "updated": updated})
    return MeasurementImport(period_code=period.code, rows=len(records), created=created, updated=updated)


async def _apply(session: AsyncSession, period: Period, rows: list[dict[str, Any]], recorded_by: str) -> tuple[int, int]:
    existing = dict(((u, m), i) for u, m, i in (await session.execute(
        select(Measurement.unit_code, Measurement.metric, Measurement.id).where(Measurement.period_code == period.code)
    )).all())
    now = utcnow()
    stamped = [{"value": r["value"], "elapsed": r.get("elapsed") or 1.0, "source": r["source"],
                "recorded_by": recorded_by, "recorded_at": now, "key": (r["unit_code"], r["metric"])} for r in rows]
    new = [{**{k: v for k, v in r.items() if k != "key"}, "period_code": period.code, "unit_code": r["key"][0],
            "metric": r["key"][1]} for r in stamped if r["key"] not in existing]
    old = [{**{k: v for k, v in r.items() if k != "key"}, "id": existing[r["key"]]} for r in stamped if r["key"] in existing]
    for chunk in chunks(new):
        await session.execute(insert(Measurement), chunk)
    for chunk in chunks(old):
        await session.execute(update(Measurement), chunk)
    await session.flush()
    return len(new), len(old)

