"""What pages show beside the services' answers: names of units and indicators, the periods
to choose from, and photos (always through the API's visibility rule)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.evidence_records import evidence_visibility
from api.importing import chunks
from api.models import Unit
from api.models_evidence import Evidence
from api.models_field import Finding
from api.models_review import Decision
from api.models_scoring import Deduction, Period
from api.periods import catalog_of, get_period
from api.security import Principal
from evidence.flags import Flag

__all__ = ["DeductionView", "Names", "Photo", "choose_period", "deductions", "names_for", "periods", "photos", "unit_names"]

REUSE = ("reused_exact", "reused_near")


async def unit_names(session: AsyncSession, codes: Iterable[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in chunks(sorted(set(codes))):
        found.update({code: name for code, name in await session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(chunk)))})
    return found


@dataclass
class Names:
    """Unit names by code and indicator names (zh, en) by period and code."""

    units: dict[str, str] = field(default_factory=dict)
    indicators: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    def unit(self, code: str) -> str:
        return self.units.get(code, code)

    def indicator(self, period: str, code: str) -> tuple[str, str]:
        return self.indicators.get((period, code), (code, code))


async def names_for(session: AsyncSession, units: Iterable[str], periods_: Iterable[str]) -> Names:
    names = Names(units=await unit_names(session, units))
    for code in sorted(set(periods_)):
        catalog = await catalog_of(session, await get_period(session, code))
        for _, _, indicator in catalog.indicators():
            names.indicators[(code, indicator.code)] = (indicator.name, indicator.name_en)
    return names


async def periods(session: AsyncSession) -> list[Period]:
    return list((await session.execute(select(Period).order_by(Period.starts_on.desc(), Period.code))).scalars())


async def choose_period(session: AsyncSession, wanted: str | None) -> tuple[str | None, list[Period]]:
    """The period asked for, else the latest open one, else the latest; and all of them."""
    rows = await periods(session)
    if wanted:
        return wanted, rows
    chosen = next((p for p in rows if p.status == "open"), rows[0] if rows else None)
    return (chosen.code if chosen else None), rows


@dataclass
class Photo:
    """A photo as a page shows it; ``earlier``: the photos a reuse flag points to."""

    id: uuid.UUID
    capture_time: datetime | None = None
    lat: float | None = None
    lon: float | None = None
    distance_m: float | None = None
    flags: list[Flag] = field(default_factory=list)
    unit_code: str | None = None
    uploaded_by: str | None = None
    received_at: datetime | None = None
    earlier: list["Photo"] = field(default_factory=list)
    hidden_earlier: int = 0

    @property
    def thumbnail(self) -> str:
        return f"/console/evidence/{self.id}/thumbnail"

    @property
    def large(self) -> str:
        return f"/console/evidence/{self.id}/thumbnail?size=1024"

    @property
    def original(self) -> str:
        return f"/console/evidence/{self.id}/original"

    @property
    def reused(self) -> bool:
        return any(f.code.value in REUSE for f in self.flags)


def _photo(row: Evidence) -> Photo:
    return Photo(id=row.id, capture_time=row.capture_time, lat=row.gps_lat, lon=row.gps_lon, unit_code=row.unit_code,
                 uploaded_by=row.uploaded_by, received_at=row.received_at)


async def _visible(session: AsyncSession, user: Principal, ids: Iterable[str | uuid.UUID]) -> dict[uuid.UUID, Evidence]:
    wanted = []
    for value in ids:
        try:
            wanted.append(value if isinstance(value, uuid.UUID) else uuid.UUID(value))
        except ValueError:
            continue
    found: dict[uuid.UUID, Evidence] = {}
    for chunk in chunks(sorted(set(wanted))):
        query = select(Evidence).where(Evidence.id.in_(chunk), evidence_visibility(user))
        found.update({row.id: row for row in (await session.execute(query)).scalars()})
    return found


async def photos(session: AsyncSession, user: Principal, ids: Iterable[str | uuid.UUID]) -> dict[str, Photo]:
    """The photos ``user`` may see among ``ids``, by id as text, each with the earlier photos
    its reuse flags name (those the user may see; the others are only counted)."""
    rows = await _visible(session, user, ids)
    found: dict[str, Photo] = {}
    for row in rows.values():
        photo = _photo(row)
        photo.flags = msgspec.convert(row.flags, list[Flag])
        found[str(row.id)] = photo
    matched = {e for p in found.values() for f in p.flags if f.code.value in REUSE for e in f.evidence_ids}
    earlier = await _visible(session, user, matched)
    for photo in found.values():
        for flag in photo.flags:
            if flag.code.value not in REUSE:
                continue
            for evidence_id in flag.evidence_ids:
                row = earlier.get(uuid.UUID(evidence_id))
                if row is None:
                    photo.hidden_earlier += 1
                else:
                    photo.earlier.append(_photo(row))
    return found


@dataclass
class DeductionView:
    """A deduction with its latest decision and the photos its finding cites."""

    row: Deduction
    decision: Decision | None
    note: str | None
    evidence_ids: list[str]

    @property
    def points(self) -> float:
        return self.row.adjusted_points if self.row.adjusted_points is not None else self.row.points


async def deductions(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, DeductionView]:
    found: dict[uuid.UUID, DeductionView] = {}
    for chunk in chunks(sorted(set(ids))):
        query = (select(Deduction, Finding.note, Finding.evidence_ids).outerjoin(Finding, Finding.id == Deduction.finding_id)
                 .where(Deduction.id.in_(chunk)))
        for row, note, evidence_ids in await session.execute(query):
            found[row.id] = DeductionView(row=row, decision=None, note=note, evidence_ids=list(evidence_ids or []))
        decisions = select(Decision).where(Decision.deduction_id.in_(chunk)).order_by(Decision.decided_at)
        for decision in (await session.execute(decisions)).scalars():
            found[decision.deduction_id].decision = decision
    return found
