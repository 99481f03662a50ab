"""The deduction register (评分登记表) of a period: one row per deduction with its basis (rule,
finding, photos), its review and its appeal, for export as CSV or XLSX.

Chiefs and admins see every deduction of the period. A unit account sees only deductions
decided to stand against its unit (confirmed or adjusted: those it must be told of), with
whatever an appeal made of them since; never a proposed or rejected-in-review one, and never
one from a draw whose unannounced visit to it is not done yet (which the unit must not learn of). Its
download counts as being told: the first read of each row is recorded as at ``/me/deductions``.
Another unit's register is a 404, the same as for a unit that does not exist.
Functions never commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import NotFound
from api.exports import Column, HeaderLanguage
from api.models import Unit
from api.models_draws import Task
from api.models_field import Finding
from api.models_review import Appeal, Decision, Notice
from api.models_scoring import Deduction
from api.notices import mark_read
from api.periods import catalog_of, get_period
from api.review import evidence_by_id
from api.security import Principal
from api.tasks import known_to_unit
from api.workdays import CHINA

__all__ = ["REGISTER_COLUMNS", "register_rows", "register_status"]

REGISTER_COLUMNS = [
    Column("unit_code", "Unit code", "单位代码"),
    Column("unit_name", "Unit", "单位"),
    Column("item", "Item", "考核项目"),
    Column("indicator", "Indicator code", "指标代码"),
    Column("indicator_name", "Indicator", "指标"),
    Column("effect", "Effect", "类别"),
    Column("count", "Occurrences", "次数"),
    Column("points", "Points proposed", "扣分"),
    Column("points_in_force", "Points in force", "现行扣分"),
    Column("status", "Status", "状态"),
    Column("finding_id", "Finding", "检查记录编号"),
    Column("note", "Note", "问题描述"),
    Column("case_file", "Case file", "案卷"),
    Column("staff", "Responsible staff", "责任人"),
    Column("inspector", "Inspector", "记录人"),
    Column("team", "Inspector team", "检查组"),
    Column("review_reason", "Review reason", "审核意见"),
    Column("reviewed_by", "Reviewed by", "审核人"),
    Column("appeal", "Appeal", "复议结果"),
    Column("appeal_reason", "Appeal answer", "复议意见"),
    Column("evidence_sha256", "Evidence SHA-256", "证据SHA-256"),
    Column("recorded_at", "Recorded at", "记录时间"),
    Column("confirmed_at", "Confirmed at", "确认时间"),
    Column("notified_at", "Notified at", "告知时间"),
    Column("deduction_id", "Deduction id", "扣分编号"),
]

#: The register's status of a deduction whose appeal is in each state.
APPEAL_STATUS = {"open": "appealed", "upheld": "upheld", "overturned": "overturned", "partial": "partially_overturned"}
STATUS_ZH = {"proposed": "待审核", "confirmed": "已确认", "adjusted": "已调整", "rejected": "已驳回",
             "appealed": "复议中", "upheld": "复议维持", "overturned": "复议撤销", "partially_overturned": "复议部分撤销"}
APPEAL_ZH = {"open": "待答复", "upheld": "维持", "overturned": "撤销", "partial": "部分撤销"}
EFFECT_ZH = {"deduct": "扣分", "add": "加分", "veto": "一票否决"}


def register_status(deduction_status: str, appeal_status: str | None) -> str:
    """proposed, confirmed, adjusted, rejected; once appealed: appealed (open), upheld,
    overturned or partially_overturned."""
    return deduction_status if appeal_status is None else APPEAL_STATUS[appeal_status]


def _in_force(row: Deduction) -> float | None:
    """The points the deduction counts for now (confirmed basis); None while proposed."""
    if row.status == "proposed":
        return None
    if row.status == "rejected":
        return 0.0
    return row.adjusted_points if row.adjusted_points is not None else row.points


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(CHINA).isoformat(timespec="seconds")


async def _unit_filter(session: AsyncSession, viewer: Principal, unit_code: str | None) -> str | None:
    """The unit whose deductions ``viewer`` gets (None: every unit); 404 for an unknown unit
    and, alike, for a unit account asking for another unit."""
    if viewer.role == "unit":
        own = viewer.unit_code or ""
        if unit_code is not None and unit_code != own:
            raise NotFound(f"No unit {unit_code!r}.", details={"code": unit_code})
        unit_code = own
    if unit_code is not None and (await session.execute(select(Unit.code).where(Unit.code == unit_code))).first() is None:
        raise NotFound(f"No unit {unit_code!r}.", details={"code": unit_code})
    return unit_code


async def register_rows(session: AsyncSession, period_code: str, viewer: Principal, unit_code: str | None,
                        lang: HeaderLanguage) -> list[dict[str, Any]]:
    """The register's rows (by unit, then creation), labels in ``lang``; 404 unknown period or unit."""
    period = await get_period(session, period_code)
    unit_code = await _unit_filter(session, viewer, unit_code)
    scope: list[ColumnElement[bool]] = [Deduction.period_code == period.code]
    if unit_code is not None:
        scope.append(Deduction.unit_code == unit_code)
    where = list(scope)
    if viewer.role == "unit":
        where += [Notice.deduction_id.is_not(None),
                  or_(Task.id.is_(None), known_to_unit())]
    query = (select(Deduction, Unit.name, Finding, Task, Notice, Appeal)
             .join(Unit, Unit.code == Deduction.unit_code)
             .outerjoin(Finding, Finding.id == Deduction.finding_id)
             .outerjoin(Task, Task.id == Finding.task_id)
             .outerjoin(Notice, Notice.deduction_id == Deduction.id)
             .outerjoin(Appeal, Appeal.deduction_id == Deduction.id)
             .where(*where).order_by(Deduction.unit_code, Deduction.created_at, Deduction.id))
    rows = list(await session.execute(query))
    # A deduction is decided once (only a proposed one is); the latest decision is the one.
    decisions: dict[Any, Decision] = {}
    decided = select(Decision).join(Deduction, Deduction.id == Decision.deduction_id).where(*scope).order_by(Decision.decided_at)
    for decision in (await session.execute(decided)).scalars():
        decisions[decision.deduction_id] = decision
    photos = await evidence_by_id(session, {e for r in rows if r.Finding is not None for e in r.Finding.evidence_ids})
    if viewer.role == "unit":
        await mark_read(session, [r.Notice for r in rows], viewer.username)
    catalog = await catalog_of(session, period)
    rules = {indicator.code: (item, indicator) for item, _, indicator in catalog.indicators()}
    zh = lang == "zh"
    out = []
    for deduction, unit_name, finding, task, notice, appeal in rows:
        item, indicator = rules.get(deduction.indicator, (None, None))
        decision = decisions.get(deduction.id)
        status = register_status(deduction.status, appeal.status if appeal is not None else None)
        cited = [photos[e].sha256 for e in (finding.evidence_ids if finding is not None else []) if e in photos]
        out.append({
            "unit_code": deduction.unit_code, "unit_name": unit_name,
            "item": None if item is None else (item.name if zh else item.name_en),
            "indicator": deduction.indicator,
            "indicator_name": None if indicator is None else (indicator.name if zh else indicator.name_en),
            "effect": EFFECT_ZH[deduction.effect] if zh else deduction.effect, "count": deduction.count,
            "points": deduction.points, "points_in_force": _in_force(deduction),
            "status": STATUS_ZH[status] if zh else status,
            "finding_id": None if finding is None else str(finding.id), "note": None if finding is None else finding.note,
            "case_file": None if finding is None else finding.case_file, "staff": list(deduction.staff),
            "inspector": None if finding is None else finding.inspector, "team": [] if task is None else list(task.team),
            "review_reason": None if decision is None else decision.reason,
            "reviewed_by": None if decision is None else decision.decided_by,
            "appeal": None if appeal is None else (APPEAL_ZH[appeal.status] if zh else appeal.status),
            "appeal_reason": None if appeal is None else appeal.reason,
            "evidence_sha256": cited,
            "recorded_at": _time(finding.recorded_at if finding is not None else deduction.created_at),
            "confirmed_at": _time(None if notice is None else notice.decided_at),
            "notified_at": _time(None if notice is None else notice.notified_at),
            "deduction_id": str(deduction.id),
        })
    return out
