"""Draw records: read, download inputs, verify, publish (一公开).

Before publication only chiefs and admins know a draw exists; afterwards every
authenticated user may read it, download its inputs and re-check it. A draw is not published
while its own unannounced visits, or those of earlier draws its inputs name as recent visits,
are to come (409 ``VISITS_PENDING``).
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import sampling
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK
from sqlalchemy import func, select

from api import audit
from api.controllers.params import Limit, Offset
from api.db import utcnow
from api.deps import DB
from api.drawing import DrawInputs, draw_summary, verify_stored_draw, visits_revealed
from api.errors import Conflict, Forbidden, NotFound
from api.models_draws import Draw, Task
from api.schemas.common import Page
from api.schemas.plans import DrawOut, DrawRecordOut, VerifyRequest
from api.security import Principal, requires
from api.tasks import pending_unannounced

__all__ = ["DrawController"]

Req = Request[Principal, Any, Any]
CHIEFS = ("admin", "chief")


def _visible(p: Principal) -> Any:
    return None if p.role in CHIEFS else Draw.published_at.is_not(None)


async def _draw(db: DB, p: Principal, draw_id: uuid.UUID) -> Draw:
    query = select(Draw).where(Draw.id == draw_id)
    if (scope := _visible(p)) is not None:
        query = query.where(scope)
    row = (await db.execute(query)).scalar_one_or_none()
    if row is None:
        raise NotFound("No such draw.", details={"draw_id": str(draw_id)})
    return row


async def _out(db: DB, row: Draw) -> DrawOut:
    count = (await db.execute(select(func.count()).select_from(Task).where(Task.draw_id == row.id))).scalar_one()
    return DrawOut(**draw_summary(row), tasks=count)


async def _refuse_revealing(db: DB, row: Draw) -> None:
    """409 while the draw's inputs name (in ``recent``) an unannounced visit of another draw that
    is not done: the inputs are what lets anyone recompute the draw, so they are published whole
    or not at all."""
    if revealed := await visits_revealed(db, row):
        raise Conflict("The inputs of this draw name inspectors of unannounced visits of other draws that are not done "
                       "yet (its recent visits): publishing them would announce those visits.",
                       code="VISITS_PENDING", details={"revealed": revealed})


class DrawController(Controller):
    path = "/api/v1/draws"
    tags = ["draws"]

    @get("/", operation_id="listDraws", summary="List draws (published ones for non-chiefs)")
    async def list_draws(self, request: Req, db: DB, limit: Limit = 50, offset: Offset = 0) -> Page[DrawOut]:
        scope = _visible(request.user)
        where = [] if scope is None else [scope]
        total = (await db.execute(select(func.count()).select_from(Draw).where(*where))).scalar_one()
        rows = (await db.execute(select(Draw).where(*where).order_by(Draw.drawn_at.desc()).limit(limit).offset(offset))).scalars()
        return Page(items=[await _out(db, r) for r in rows], total=total, limit=limit, offset=offset)

    @get("/{draw_id:uuid}", operation_id="getDraw", summary="A draw with its full record")
    async def read(self, request: Req, draw_id: FromPath[uuid.UUID], db: DB) -> DrawRecordOut:
        row = await _draw(db, request.user, draw_id)
        return DrawRecordOut(draw=await _out(db, row), record=msgspec.to_builtins(msgspec.convert(row.record, sampling.Draw)))

    @get("/{draw_id:uuid}/inputs", operation_id="getDrawInputs",
         summary="The exact inputs of the draw (population, case files, roster, exclusions)")
    async def inputs(self, request: Req, draw_id: FromPath[uuid.UUID], db: DB) -> Response[bytes]:
        row = await _draw(db, request.user, draw_id)
        # A draw published before publishing checked its inputs may still name a visit to come.
        if request.user.role not in CHIEFS:
            await _refuse_revealing(db, row)
        body = msgspec.json.encode(DrawInputs.decode(row.inputs))
        return Response(content=body, media_type="application/json",
                        headers={"Content-Disposition": f'attachment; filename="draw-{row.id}-inputs.json"'})

    @post("/{draw_id:uuid}/verify", operation_id="verifyDraw", status_code=HTTP_200_OK,
          summary="Recompute the draw from its recorded inputs, or from today's registry")
    async def verify(self, request: Req, draw_id: FromPath[uuid.UUID], data: JSONBody[VerifyRequest], db: DB) -> sampling.Verification:
        row = await _draw(db, request.user, draw_id)
        if data.against == "current" and request.user.role not in CHIEFS:
            raise Forbidden("Only chiefs compare a draw with today's registry; anyone may re-check it from its recorded inputs.",
                            details={"allowed_roles": sorted(CHIEFS)})
        return await verify_stored_draw(db, row, against=data.against)

    @post("/{draw_id:uuid}/publish", operation_id="publishDraw", status_code=HTTP_200_OK,
          guards=[requires(*CHIEFS)], summary="Publish the draw to every authenticated user (一公开)")
    async def publish(self, request: Req, draw_id: FromPath[uuid.UUID], db: DB) -> DrawOut:
        row = await _draw(db, request.user, draw_id)
        if row.published_at is None:
            if pending := (await pending_unannounced(db, [row.id])).get(row.id):
                raise Conflict(f"{pending} unannounced visit(s) of this draw are not done yet: publishing would announce them.",
                               code="VISITS_PENDING", details={"pending": pending})
            await _refuse_revealing(db, row)
            row.published_at = utcnow()
            audit.record(db, request.user.username, "draw.published", "draw", row.id, {"published_at": None},
                         {"published_at": row.published_at})
            await db.commit()
        return await _out(db, row)
