"""Periods and their measurements: open and read periods, upsert, list and import measurements.

Everyone authenticated reads periods; a unit account reads only its own unit's measurements.
Chiefs and admins open periods and write measurements, into open periods only; they lock a
period and publish a locked one; only an admin reopens one, with a reason.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, RawBody
from litestar.status_codes import HTTP_200_OK

from api import measurements, periods
from api.controllers.params import CatalogCodeFilter, CodeFilter, FileName, Limit, Offset
from api.deps import DB
from api.importing import commit_import
from api.models_scoring import Measurement, Period
from api.paging import page_of
from api.schemas.common import Page
from api.schemas.review import PeriodReopen
from api.schemas.scoring import (
    MeasurementImport,
    MeasurementOut,
    MeasurementUpsert,
    PeriodCreate,
    PeriodOut,
    PeriodStatus,
)
from api.security import Principal, requires

__all__ = ["make_period_controller"]

EDITORS = requires("admin", "chief")
ADMINS = requires("admin")
Req = Request[Principal, Any, Any]


async def _change(db: DB, code: str, action: str, actor: str, reason: str | None = None) -> PeriodOut:
    row = await periods.change_status(db, code, action, actor, reason)
    await db.commit()
    return periods.period_out(row)


def make_period_controller(import_max_bytes: int) -> type[Controller]:
    """The period endpoints, with the import's own body limit (a file is larger than JSON)."""

    class PeriodController(Controller):
        path = "/api/v1/periods"
        tags = ["scoring"]

        @post("/", operation_id="createPeriod", guards=[EDITORS], summary="Open a period",
              description="Pins the catalog and scheme versions (default: the latest loaded) that will score it.")
        async def create(self, request: Req, data: JSONBody[PeriodCreate], db: DB) -> PeriodOut:
            row = await periods.create_period(db, data, request.user.username)
            await db.commit()
            return periods.period_out(row)

        @get("/", operation_id="listPeriods", summary="List periods")
        async def list_periods(self, db: DB, status: FromQuery[PeriodStatus | None] = None, limit: Limit = 50,
                               offset: Offset = 0) -> Page[PeriodOut]:
            filters = [] if status is None else [Period.status == status]
            return Page(**await page_of(db, Period, filters, [Period.code], periods.period_out, limit=limit, offset=offset))

        @get("/{code:str}", operation_id="getPeriod", summary="Read a period")
        async def read(self, code: FromPath[str], db: DB) -> PeriodOut:
            return periods.period_out(await periods.get_period(db, code))

        @post("/{code:str}/lock", operation_id="lockPeriod", guards=[EDITORS], status_code=HTTP_200_OK,
              summary="Lock an open period: its scores no longer change",
              description="Every later write that would change its scores is refused with 409 PERIOD_LOCKED.")
        async def lock(self, request: Req, code: FromPath[str], db: DB) -> PeriodOut:
            return await _change(db, code, "lock", request.user.username)

        @post("/{code:str}/publish", operation_id="publishPeriod", guards=[EDITORS], status_code=HTTP_200_OK,
              summary="Publish a locked period and its draws (一公开)",
              description="The draws of the period's plans become readable by every authenticated user.")
        async def publish(self, request: Req, code: FromPath[str], db: DB) -> PeriodOut:
            return await _change(db, code, "publish", request.user.username)

        @post("/{code:str}/reopen", operation_id="reopenPeriod", guards=[ADMINS], status_code=HTTP_200_OK,
              summary="Reopen a locked or published period (admin, with a reason)")
        async def reopen(self, request: Req, code: FromPath[str], data: JSONBody[PeriodReopen], db: DB) -> PeriodOut:
            return await _change(db, code, "reopen", request.user.username, data.reason)

        @put("/{code:str}/measurements", operation_id="upsertMeasurement", guards=[EDITORS],
             summary="Set one measurement (created, or replaced with its new source)")
        async def upsert_measurement(self, request: Req, code: FromPath[str], data: JSONBody[MeasurementUpsert], db: DB) -> MeasurementOut:
            period = await periods.open_period(db, code)
            row = await measurements.upsert(db, period, data, request.user.username)
            await db.commit()
            return measurements.measurement_out(row)

        @get("/{code:str}/measurements", operation_id="listMeasurements", summary="List a period's measurements")
        async def list_measurements(self, request: Req, code: FromPath[str], db: DB, unit_code: CodeFilter = None,
                                    metric: CatalogCodeFilter = None, limit: Limit = 50,
                                    offset: Offset = 0) -> Page[MeasurementOut]:
            period = await periods.get_period(db, code)
            filters = [Measurement.period_code == period.code]
            if request.user.role == "unit":
                filters.append(Measurement.unit_code == request.user.unit_code)
            if unit_code is not None:
                filters.append(Measurement.unit_code == unit_code)
            if metric is not None:
                filters.append(Measurement.metric == metric)
            return Page(**await page_of(db, Measurement, filters, [Measurement.unit_code, Measurement.metric],
                                        measurements.measurement_out, limit=limit, offset=offset))

        @post(
            "/{code:str}/measurements/import",
            operation_id="importMeasurements",
            guards=[EDITORS],
            status_code=HTTP_200_OK,
            request_max_body_size=import_max_bytes,
            summary="Import measurements from CSV or XLSX (all or nothing)",
            description=(
                "The request body is the file (CSV in UTF-8 or GB18030, or XLSX) with columns unit_code, "
                "metric, value, source and optionally elapsed. Existing (unit, metric) values are replaced, "
                "the others created. If any row is bad, nothing is written and the 422 response lists every "
                "problem: row (header = 1), column and message."
            ),
        )
        async def import_measurements(self, request: Req, code: FromPath[str], body: RawBody, db: DB,
                                      file_name: FileName = None) -> MeasurementImport:
            period = await periods.open_period(db, code)
            return await commit_import(db, measurements.import_file(db, period, body, request.user.username, file_name))

    return PeriodController
