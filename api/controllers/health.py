from __future__ import annotations

import msgspec
from litestar import Controller, get
from litestar.datastructures import State
from sqlalchemy import text

from api.errors import ApiError

__all__ = ["HealthController"]


class Health(msgspec.Struct):
    status: str


class Readiness(msgspec.Struct):
    status: str
    database: str
    schema_revision: str | None


class NotReady(ApiError):
    status_code = 503
    code = "NOT_READY"


class HealthController(Controller):
    tags = ["operations"]

    @get("/healthz", operation_id="healthz", exclude_from_auth=True, summary="The process is up")
    async def healthz(self) -> Health:
        return Health(status="ok")

    @get("/readyz", operation_id="readyz", exclude_from_auth=True, summary="The database is reachable and migrated")
    async def readyz(self, state: State) -> Readiness:
        try:
            async with state.engine.connect() as connection:
                revision = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one_or_none()
        except Exception as exc:  # any failure to reach the database means "not ready"
            raise NotReady("The database is not reachable or not migrated.", details={"error": type(exc).__name__}, headers={"Retry-After": "5"}) from None
        return Readiness(status="ok", database=state.engine.dialect.name, schema_revision=revision)
