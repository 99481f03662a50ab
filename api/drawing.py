"""Draw service: gather a plan's inputs from the registry, run the seeded draw (sampling/),
persist the immutable record with its exact inputs, and create the tasks.

Also re-verifies a stored draw from the inputs recorded with it, or from today's registry.
"""

from __future__ import annotations

import gzip
import hashlib
import uuid
from datetime import datetime
from typing import Any

import anyio
import msgspec
import sampling
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api import audit
from api.db import utcnow
from api.errors import Conflict
from api.models import CaseFile, Inspector, Unit
from api.models_draws import DeclaredConflict, Draw, Plan, Task, TaskInspector
from api.tasks import DONE_STATUSES

__all__ = ["DrawInputs", "POPULATION_FIELDS", "draw_summary", "execute_draw", "load_inputs", "verify_stored_draw",
           "visits_revealed"]

# Unit attributes a plan may stratify or filter on (and that the population digest covers).
POPULATION_FIELDS = ("kind", "district", "grid", "risk_class", "credit", "tier", "parent_code")
INPUTS_FORMAT = "spotcheck-draw-inputs/1"


class DrawInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Everything a draw reads besides seed and parameters, as recorded with the draw.

    Published beside the draw record so that anyone can recompute it with the open
    ``sampling`` library (or the reference code in docs/sampling.md).
    """

    unit_ids: list[str]
    unit_fields: dict[str, list[str | None]]
    case_files: dict[str, list[sampling.CaseFile]]
    inspectors: list[sampling.Inspector]
    conflicts: list[tuple[str, str]]
    recent: list[tuple[str, str]]
    format: str = INPUTS_FORMAT

    def population(self) -> sampling.Population:
        return sampling.Population.from_columns(self.unit_ids, self.unit_fields)

    def encode(self) -> bytes:
        # mtime=0: the same inputs always compress to the same bytes (and the same hash).
        return gzip.compress(msgspec.json.encode(self), mtime=0)

    @classmethod
    def decode(cls, data: bytes) -> "DrawInputs":
        return msgspec.json.decode(gzip.decompress(data), type=cls)


async def load_inputs(session: AsyncSession, *, exclude_recent_draws: int, before: datetime | None = None) -> DrawInputs:
    """Read the population, case files, roster, conflicts and the visits of the last
    ``exclude_recent_draws`` draws (made before ``before``, if given) from the database."""
    columns = [getattr(Unit, f) for f in POPULATION_FIELDS]
    rows = (await session.execute(select(Unit.code, *columns).order_by(Unit.code))).all()
    unit_ids = [r[0] for r in rows]
    unit_fields = {f: [None if r[i + 1] is None else str(r[i + 1]) for r in rows] for i, f in enumerate(POPULATION_FIELDS)}
    files: dict[str, list[sampling.CaseFile]] = {}
    for code, unit_code, file_type in (await session.execute(select(CaseFile.code, CaseFile.unit_code, CaseFile.type))).all():
        files.setdefault(unit_code, []).append(sampling.CaseFile(file_id=code, file_type=file_type))
    roster = [
        sampling.Inspector(inspector_id=i.username, qualifications=frozenset(i.qualifications), active=i.active,
                           home_unit=i.home_unit, home_grid=i.home_grid)
        for i in (await session.execute(select(Inspector).order_by(Inspector.username))).scalars()
    ]
    conflicts = [tuple(r) for r in (await session.execute(select(DeclaredConflict.inspector, DeclaredConflict.unit_code))).all()]
    recent: list[tuple[str, str]] = []
    if exclude_recent_draws > 0:
        query = (select(TaskInspector.username, Task.unit_code).join(Task, Task.id == TaskInspector.task_id)
                 .where(Task.draw_id.in_(_recent_draws(exclude_recent_draws, before))).distinct())
        recent = [tuple(r) for r in (await session.execute(query)).all()]
    return DrawInputs(unit_ids=unit_ids, unit_fields=unit_fields, case_files=files, inspectors=roster,
                      conflicts=sorted(conflicts), recent=sorted(recent))  # type: ignore[arg-type]


def _recent_draws(count: int, before: datetime | None) -> Any:
    earlier = select(Draw.id) if before is None else select(Draw.id).where(Draw.drawn_at < before)
    return earlier.order_by(Draw.drawn_at.desc()).limit(count).scalar_subquery()


async def visits_revealed(session: AsyncSession, draw_row: Draw) -> list[dict[str, Any]]:
    """The earlier draws whose unannounced visits, not done yet, the ``recent`` pairs of this
    draw's recorded inputs name (inspector, unit), with their plan and how many such visits.

    Publishing a draw publishes its inputs, which must stay whole for anyone to recompute it;
    while this list is not empty they would tell a unit who is coming on a visit it must not
    know of. Only the draws the pairs were read from count (the plan's last
    ``exclude_recent_draws`` before this one), so a pair repeated by an older draw blocks nothing.
    """
    recent = set(map(tuple, DrawInputs.decode(draw_row.inputs).recent))
    plan = await session.get(Plan, draw_row.plan_id)
    if not recent or plan is None or plan.exclude_recent_draws <= 0:
        return []
    window = _recent_draws(plan.exclude_recent_draws, draw_row.drawn_at)
    rows = await session.execute(
        select(Task.id, Task.draw_id, Plan.id, Plan.name, TaskInspector.username, Task.unit_code)
        .join(TaskInspector, TaskInspector.task_id == Task.id).join(Plan, Plan.id == Task.plan_id)
        .where(Task.draw_id.in_(window), Task.draw_id != draw_row.id, Task.unannounced.is_(True),
               Task.status.not_in(DONE_STATUSES)))
    visits: dict[Any, set[uuid.UUID]] = {}
    plans: dict[Any, tuple[uuid.UUID, str]] = {}
    for task_id, draw_id, plan_id, plan_name, username, unit_code in rows.all():
        if (username, unit_code) in recent:
            visits.setdefault(draw_id, set()).add(task_id)
            plans[draw_id] = (plan_id, plan_name)
    return [{"draw_id": str(d), "plan_id": str(plans[d][0]), "plan_name": plans[d][1], "pending": len(visits[d])}
            for d in sorted(visits, key=str)]


def _run(params: sampling.DrawParams, seed: str | sampling.SeedRecord, inputs: DrawInputs, commitment: str | None) -> sampling.Draw:
    return sampling.run_draw(
        inputs.population(), params, seed, case_files=inputs.case_files, inspectors=inputs.inspectors,
        conflicts=inputs.conflicts, recent=inputs.recent, commitment=commitment,
    )


def _tasks_for(plan: Plan, draw_row: Draw, result: sampling.Draw) -> list[Task]:
    files = {u.unit_id: [f.file_id for f in u.files] for u in (result.case_files.units if result.case_files else ())}
    rank = {u.unit_id: u.rank for u in result.units.units}
    tasks = result.assignment.tasks if result.assignment else ()
    kinds_by_unit: dict[str, set[str]] = {}
    for t in tasks:
        kinds_by_unit.setdefault(t.unit_id, set()).add(t.kind)
    out = []
    for t in tasks:
        # Sampled files go to the file review; without one, every task of the unit carries them.
        carries_files = t.kind == "file_review" or "file_review" not in kinds_by_unit[t.unit_id]
        out.append(Task(
            id=uuid.uuid4(), draw_id=draw_row.id, plan_id=plan.id, unit_code=t.unit_id, kind=t.kind,
            draw_rank=rank[t.unit_id], team=list(t.team), case_files=files.get(t.unit_id, []) if carries_files else [],
            due_from=plan.due_from, due_to=plan.due_to, unannounced=plan.unannounced and t.kind != "file_review",
            status="assigned",
        ))
    return out


async def execute_draw(session: AsyncSession, plan: Plan, seed: str | sampling.SeedRecord, drawn_by: str) -> Draw:
    """Run the plan's draw and store it with its tasks; the caller commits.

    Raises sampling errors for a bad seed, a commitment mismatch or an infeasible plan,
    and :class:`Conflict` if the plan was drawn already.
    """
    if plan.status != "draft":
        raise Conflict("This plan has been drawn already; a draw is final.", code="PLAN_ALREADY_DRAWN", details={"plan_id": str(plan.id)})
    params = msgspec.convert(plan.params, sampling.DrawParams)
    inputs = await load_inputs(session, exclude_recent_draws=plan.exclude_recent_draws)
    # The draw is CPU work (hashing every unit); keep it off the event loop.
    result = await anyio.to_thread.run_sync(_run, params, seed, inputs, plan.seed_commitment)
    if not result.units.units:
        # A filter that matches nothing (a typo, an empty registry) would end the plan with no
        # task: refused, so the plan stays a draft that can be put right and drawn.
        raise sampling.InvalidParameters("no unit is eligible under the plan's filter and rules: nothing was drawn, "
                                         "and the plan stays a draft")
    packed = inputs.encode()
    row = Draw(
        id=uuid.uuid4(), plan_id=plan.id, algorithm=result.algorithm, algorithm_version=result.algorithm_version,
        seed=result.seed.seed, population_digest=result.units.population_digest, record=msgspec.to_builtins(result),
        inputs=packed, inputs_sha256=hashlib.sha256(packed).hexdigest(), drawn_by=drawn_by, drawn_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    tasks = _tasks_for(plan, row, result)
    session.add_all(tasks)
    session.add_all([TaskInspector(task_id=t.id, username=u) for t in tasks for u in t.team])
    # The seed is revealed here; anyone may check it against the commitment published before.
    audit.record(session, drawn_by, "plan.drawn", "plan", plan.id, {"status": plan.status},
                 {"status": "drawn", "draw_id": row.id, "seed": row.seed, "seed_commitment": plan.seed_commitment,
                  "algorithm": f"{row.algorithm}/{row.algorithm_version}", "population_digest": row.population_digest,
                  "inputs_sha256": row.inputs_sha256, "tasks": len(tasks)})
    plan.status = "drawn"
    await session.flush()
    return row


async def verify_stored_draw(session: AsyncSession, draw_row: Draw, *, against: str) -> sampling.Verification:
    """Recompute a stored draw from its recorded inputs (``recorded``) or today's registry
    (``current``, which shows what changed since) and list every difference."""
    record = msgspec.convert(draw_row.record, sampling.Draw)
    if against == "recorded":
        if hashlib.sha256(draw_row.inputs).hexdigest() != draw_row.inputs_sha256:
            return sampling.Verification(ok=False, differences=(sampling.Difference(
                path="inputs", message="the stored inputs do not match their recorded SHA-256"),), total=1)
        inputs = DrawInputs.decode(draw_row.inputs)
    else:
        plan = await session.get(Plan, draw_row.plan_id)
        inputs = await load_inputs(session, exclude_recent_draws=plan.exclude_recent_draws if plan else 0,
                                   before=draw_row.drawn_at)
    return await anyio.to_thread.run_sync(_verify, record, inputs)


def _verify(record: sampling.Draw, inputs: DrawInputs) -> sampling.Verification:
    return sampling.verify_draw(record, inputs.population(), case_files=inputs.case_files, inspectors=inputs.inspectors,
                                conflicts=inputs.conflicts, recent=inputs.recent)


def draw_summary(row: Draw) -> dict[str, Any]:
    return {"id": row.id, "plan_id": row.plan_id, "algorithm": row.algorithm, "algorithm_version": row.algorithm_version,
            "seed": row.seed, "population_digest": row.population_digest, "inputs_sha256": row.inputs_sha256,
            "drawn_by": row.drawn_by, "drawn_at": row.drawn_at, "published_at": row.published_at}
