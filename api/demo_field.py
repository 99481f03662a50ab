"""The demo's field work: three inspection visits of the drawn demo plan, each checked in and
out on site, with photos and a finding, submitted, so their deductions wait in the chiefs'
review queue. One visit re-files a photo taken at another visit (flagged reused, and far
from the unit), the kind of faked evidence review is for.

Everything goes through the services the API uses: the field writer's batch handlers
(check-ins, findings, submission) and evidence intake (storage, analysis, flags, ledger).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import utcnow
from api.demo_photos import demo_photo
from api.evidence_intake import file_evidence, upload_scope
from api.evidence_records import recompute_flags
from api.evidence_runtime import EvidenceRuntime
from api.field_facts import FieldFacts
from api.field_ops import FieldWriter, FindingOp
from api.field_visits import CheckInOp, SubmitOp
from api.models import CaseFile, Unit
from api.models_draws import Task
from api.models_evidence import Evidence
from api.schemas.field import CheckInCreate, FindingCreate
from api.security import Principal
from api.settings import Settings
from api.workdays import CHINA

__all__ = ["DEMO_VISITS", "Visit", "load_field_demo"]


@dataclass(frozen=True)
class Visit:
    unit_code: str  # the visited entity; the finding counts against its office
    indicator: str
    note: str
    photo_seeds: tuple[int, ...]
    reuses: str | None = None  # also files the first photo of the visit to this unit


DEMO_VISITS = (
    Visit("DG-HOUJIE-023", "market.food_safety.ledger_unchecked",
          "食品进货查验记录缺失：现场未见供货商资质及进货台账。", (11,)),
    Visit("DG-HUMEN-018", "market.patrol.problem_unresolved",
          "货架仍有过期预包装食品，分局巡查记录却记为已整改。", (21,), reuses="DG-HOUJIE-023"),
    Visit("DG-CHANGAN-020", "market.patrol.record_incomplete",
          "巡查记录未写明检查项目及处理意见。", (31,)),
)


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _apply(session: AsyncSession, handler: Any, ops: Sequence[Any]) -> list[Any]:
    """Run a field writer batch handler in the session's transaction, as the group-commit
    writer would, and commit; a refused operation raises its error."""
    outcomes = await session.run_sync(lambda sync_session: handler(sync_session.connection(), ops))
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    await session.commit()
    return list(outcomes)


class _FieldDemo:
    def __init__(self, session: AsyncSession, settings: Settings, runtime: EvidenceRuntime) -> None:
        self.session = session
        self.runtime = runtime
        self.writer = FieldWriter(settings, FieldFacts())
        self.first_photo: dict[str, bytes] = {}

    async def visit(self, visit: Visit) -> None:
        session = self.session
        # Plain values: commits below expire ORM rows.
        task_id, team, lat, lon, office = (await session.execute(
            select(Task.id, Task.team, Unit.lat, Unit.lon, Unit.parent_code).join(Unit, Unit.code == Task.unit_code)
            .where(Task.unit_code == visit.unit_code))).one()
        inspector = Principal(id=0, username=sorted(team)[0], role="inspector", unit_code=None)
        # On site: a few metres from the registered position, as a phone's GPS would put it.
        here = (round(lat + 0.00012, 6), round(lon - 0.00009, 6))
        await self._check(inspector, task_id, here, "in")
        taken = utcnow().astimezone(CHINA).replace(tzinfo=None, microsecond=0)
        photos = [demo_photo(seed, f"{visit.unit_code}  {taken:%Y-%m-%d %H:%M}", taken, here) for seed in visit.photo_seeds]
        self.first_photo[visit.unit_code] = photos[0]
        if visit.reuses is not None:
            photos.append(self.first_photo[visit.reuses])
        await self._check(inspector, task_id, here, "out")
        # Filed after the visit, as phones upload once back on a good connection.
        scope = await upload_scope(session, inspector, task_id)
        evidence_ids = []
        for body in photos:
            filed = await file_evidence(session, self.runtime, inspector, scope, _one_chunk(body))
            evidence_ids.append(filed.evidence.id)
        staff = (await session.execute(select(CaseFile.handlers).where(CaseFile.unit_code == office)
                                       .order_by(CaseFile.code).limit(1))).scalar_one()
        finding = FindingCreate(id=uuid.uuid4(), task_id=task_id, indicator=visit.indicator, recorded_at=utcnow(),
                                note=visit.note, staff=staff[:1], evidence_ids=evidence_ids)
        await _apply(session, self.writer.findings, [FindingOp(inspector, finding)])
        # The re-check the findings endpoint runs once a finding cites its photos.
        for row in (await session.execute(select(Evidence).where(Evidence.id.in_(evidence_ids)))).scalars():
            await recompute_flags(session, self.runtime, row, inspector.username)
        await session.commit()
        await _apply(session, self.writer.submissions, [SubmitOp(inspector, task_id)])

    async def _check(self, inspector: Principal, task_id: uuid.UUID, here: tuple[float, float], kind: str) -> None:
        data = CheckInCreate(id=uuid.uuid4(), lat=here[0], lon=here[1], accuracy_m=12.0, device_time=utcnow(),
                             kind=kind)  # type: ignore[arg-type]
        await _apply(self.session, self.writer.check_ins, [CheckInOp(inspector, task_id, data)])


async def load_field_demo(session: AsyncSession, settings: Settings, visits: Sequence[Visit] = DEMO_VISITS) -> None:
    """Run the demo visits on the loaded demo (after :func:`api.demo.load_demo` is committed).
    Commits as it goes, like the API: evidence intake commits each photo with its ledger entry."""
    runtime = await anyio.to_thread.run_sync(EvidenceRuntime.from_settings, settings)
    try:
        demo = _FieldDemo(session, settings, runtime)
        for visit in visits:
            await demo.visit(visit)
    finally:
        await anyio.to_thread.run_sync(runtime.close)
