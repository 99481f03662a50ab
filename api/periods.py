"""Assessment periods: opening one pins the catalog and scheme versions in force.

A period goes open -> locked -> published; an admin may reopen a locked or published one with
a reason. Writes that change its scores (measurements, deductions, findings, decisions) require
it to be open. Functions never commit.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit, documents
from api.errors import Conflict, NotFound, ValidationFailed
from api.importing import chunks
from api.db import utcnow
from api.drawing import visits_revealed
from api.models import Unit
from api.models_draws import Draw, Plan
from api.models_review import Appeal, PeriodTransition, PeriodUnit
from api.models_scoring import Period
from api.registry import missing_units
from api.tasks import pending_unannounced
from api.schemas.scoring import PeriodCreate, PeriodOut
from scoring import Catalog, Scheme

__all__ = ["create_period", "get_period", "open_period", "period_out", "assessed_units",
           "check_assessed", "catalog_of", "scheme_of", "change_status", "TRANSITIONS"]

#: The statuses each action moves a period from, and the status it reaches.
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "lock": (("open",), "locked"),
    "publish": (("locked",), "published"),
    "reopen": (("locked", "published"), "open"),
}


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"Invalid input: $.{field}: {message}", details=[{"path": f"$.{field}", "message": message}])


def period_out(row: Period) -> PeriodOut:
    return PeriodOut(code=row.code, name=row.name, starts_on=row.starts_on, ends_on=row.ends_on,
                     status=row.status, catalog_code=row.catalog_code, catalog_version=row.catalog_version,  # type: ignore[arg-type]
                     scheme_code=row.scheme_code, scheme_version=row.scheme_version, unit_kind=row.unit_kind,  # type: ignore[arg-type]
                     parent_code=row.parent_code, opened_by=row.opened_by, created_at=row.created_at)


async def create_period(session: AsyncSession, data: PeriodCreate, opened_by: str) -> Period:
    """Open a period with the given (default: latest loaded) catalog and scheme versions."""
    if (await session.execute(select(Period.id).where(Period.code == data.code))).first():
        raise Conflict(f"A period {data.code!r} already exists.", code="ALREADY_EXISTS", details={"code": data.code})
    if data.ends_on < data.starts_on:
        raise _invalid("ends_on", "the period ends before it starts")
    catalog = await documents.latest(session, documents.CATALOGS, data.catalog_code, data.catalog_version)
    scheme = await documents.latest(session, documents.SCHEMES, data.scheme_code, data.scheme_version)
    if documents.parse_scheme(scheme.document).subject != "unit":
        raise _invalid("scheme_code", "a period scores units: the scheme's subject must be 'unit'")
    if data.parent_code and await missing_units(session, {data.parent_code}):
        raise _invalid("parent_code", f"no unit with code {data.parent_code!r}")
    row = Period(code=data.code, name=data.name, starts_on=data.starts_on, ends_on=data.ends_on, status="open",
                 catalog_code=catalog.code, catalog_version=catalog.version, scheme_code=scheme.code,
                 scheme_version=scheme.version, unit_kind=data.unit_kind, parent_code=data.parent_code,
                 opened_by=opened_by)
    session.add(row)
    audit.record(session, opened_by, "period.open", "period", data.code, None,
                 {"status": "open", "name": data.name, "starts_on": data.starts_on, "ends_on": data.ends_on,
                  "catalog": f"{catalog.code}@{catalog.version}", "scheme": f"{scheme.code}@{scheme.version}",
                  "unit_kind": data.unit_kind, "parent_code": data.parent_code})
    await session.flush()
    return row


async def get_period(session: AsyncSession, code: str, *, lock: str | None = None) -> Period:
    """The period ``code``; ``lock`` ("share" or "update") takes its row lock on PostgreSQL so a
    status change and a write into the period are serialised (SQLite serialises writers anyway)."""
    query = select(Period).where(Period.code == code)
    if lock is not None:
        query = query.with_for_update(read=lock == "share")
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"No period {code!r}.", details={"period": code})
    return row


async def open_period(session: AsyncSession, code: str) -> Period:
    """The period ``code``, which must still take measurements, deductions and decisions:
    409 ``PERIOD_LOCKED`` once locked or published. Holds a share lock on its row until the
    transaction ends, so a concurrent lock waits for the write (and the write sees the lock)."""
    row = await get_period(session, code, lock="share")
    if row.status != "open":
        raise Conflict(f"Period {code!r} is {row.status}; its data can no longer change.",
                       code="PERIOD_LOCKED", details={"period": code, "status": row.status})
    return row


async def change_status(session: AsyncSession, code: str, action: str, actor: str, reason: str | None = None) -> Period:
    """Lock, publish or reopen a period (409 from a status the action does not start from).

    Locking is refused (409 ``APPEALS_OPEN``) while an appeal of the period is unanswered: the
    answer changes scores, which a locked period forbids. An appeal filed after the lock waits
    for a reopening, and publishing is refused (409 ``APPEALS_OPEN``) until it is answered.
    Publishing also publishes the draws of the period's plans (一公开), and is refused (409
    ``VISITS_PENDING``) while one of them has unannounced visits not done: every account, the
    visited units' own included, could then read of them. Locking keeps the list of units the
    period assesses (:class:`PeriodUnit`) and reopening drops it; reopening leaves the draws
    published, since what was made public stays public.
    """
    sources, target = TRANSITIONS[action]
    row = await get_period(session, code, lock="update")
    plans = select(Plan.id).where(Plan.period == code)
    if row.status not in sources:
        raise Conflict(f"Period {code!r} is {row.status}; it cannot {action} (only from {', '.join(sources)}).",
                       details={"period": code, "status": row.status, "action": action})
    if action in ("lock", "publish"):
        # Every appeal is answered, and an answer changes scores, which a lock forbids; one
        # filed after the lock keeps the period from being published until it is answered.
        unanswered = (await session.execute(select(func.count()).select_from(Appeal).where(
            Appeal.period_code == code, Appeal.status == "open"))).scalar_one()
        if unanswered:
            raise Conflict(f"Period {code!r} has {unanswered} unanswered appeal(s); answer them (reopening it if "
                           f"locked) before you {action} it.",
                           code="APPEALS_OPEN", details={"period": code, "open_appeals": unanswered})
    if action == "publish":
        unpublished = select(Draw.id).where(Draw.plan_id.in_(plans), Draw.published_at.is_(None))
        if pending := await pending_unannounced(session, unpublished):
            raise Conflict(f"Unannounced visits of period {code!r} are not done yet: publishing its draws would announce them.",
                           code="VISITS_PENDING", details={"draws": {str(k): v for k, v in pending.items()}})
        # Their inputs too: the recent visits they list may be another draw's visits to come.
        revealed = {str(d.id): found for d in (await session.execute(select(Draw).where(Draw.id.in_(unpublished)))).scalars()
                    if (found := await visits_revealed(session, d))}
        if revealed:
            raise Conflict(f"The inputs of draws of period {code!r} name unannounced visits of other draws that are not "
                           "done yet: publishing them would announce those visits.",
                           code="VISITS_PENDING", details={"revealed": revealed})
    now = utcnow()
    if action == "lock":  # the units it assesses from now on, whatever the registry does
        await session.execute(insert(PeriodUnit).from_select(["period_code", "unit_code"],
                                                             select(literal(code), Unit.code).where(*_assessed(row))))
    elif action == "reopen":
        await session.execute(delete(PeriodUnit).where(PeriodUnit.period_code == code))
    session.add(PeriodTransition(period_code=code, from_status=row.status, to_status=target, reason=reason,
                                 actor=actor, at=now))
    audit.record(session, actor, f"period.{action}", "period", code, {"status": row.status},
                 {"status": target, "reason": reason})
    row.status = target
    if action == "publish":
        published = (await session.execute(
            update(Draw).where(Draw.plan_id.in_(plans), Draw.published_at.is_(None)).values(published_at=now)
            .returning(Draw.id).execution_options(synchronize_session=False))).scalars().all()
        for draw_id in published:  # as when a draw is published on its own (api.controllers.draws)
            audit.record(session, actor, "draw.published", "draw", draw_id, {"published_at": None}, {"published_at": now})
    await session.flush()
    return row


def _assessed(period: Period) -> list[ColumnElement[bool]]:
    """An open period assesses the registry's units of its kind as they are now; a locked or
    published one, those it assessed when it was locked (:class:`PeriodUnit`)."""
    if period.status != "open":
        return [Unit.code.in_(select(PeriodUnit.unit_code).where(PeriodUnit.period_code == period.code))]
    filters = [Unit.kind == period.unit_kind]
    if period.parent_code is not None:
        filters.append(Unit.parent_code == period.parent_code)
    return filters


async def assessed_units(session: AsyncSession, period: Period) -> list[Unit]:
    """The units a period assesses, by code."""
    return list((await session.execute(select(Unit).where(*_assessed(period)).order_by(Unit.code))).scalars())


async def check_assessed(session: AsyncSession, period: Period, codes: set[str]) -> set[str]:
    """Which of ``codes`` the period does not assess (unknown units included)."""
    found: set[str] = set()
    for chunk in chunks(sorted(codes)):
        found.update((await session.execute(select(Unit.code).where(Unit.code.in_(chunk), *_assessed(period)))).scalars())
    return codes - found


async def catalog_of(session: AsyncSession, period: Period) -> Catalog:
    row = await documents.get(session, documents.CATALOGS, period.catalog_code, period.catalog_version)
    return documents.parse_catalog(row.document)


async def scheme_of(session: AsyncSession, period: Period) -> Scheme:
    row = await documents.get(session, documents.SCHEMES, period.scheme_code, period.scheme_version)
    return documents.parse_scheme(row.document)
