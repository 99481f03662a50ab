"""Review bodies and answers: period status changes, the review queue, decisions on deductions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from api.errors import ErrorBody
from api.schemas.common import PRINTABLE, Body, Text
from api.schemas.scoring import DeductionStatus
from evidence.exif import GpsPosition
from evidence.flags import Flag
from scoring.points import from_milli, to_milli

__all__ = ["AppealCreate", "AppealDecision", "AppealOut", "AppealVoteOut", "AuditOut", "BulkDecision", "BulkDecisions", "BulkDecisionsOut", "BulkResult", "DecisionAction", "DecisionCreate", "DeductionAppeal",
           "DecisionOut", "NoticeOut", "PeriodReopen", "UnitDeduction", "ReviewEvidence", "ReviewFinding", "ReviewItem", "MAX_BULK"]

DecisionAction = Literal["confirm", "adjust", "reject"]
#: Adjusted points: what the chief decides the deduction is worth (finite, positive).
AdjustedPoints = Annotated[float, Meta(gt=0, le=1000)]
MAX_BULK = 200


def _counted(points: float | None) -> float | None:
    """``points`` as scoring counts them, in whole thousandths (scoring.points), so that what is
    stored and shown is what scores count; a ValueError for less than one thousandth, which
    would count as nothing."""
    if points is None:
        return None
    milli = to_milli(points)
    if milli < 1:
        raise ValueError("`points` must be at least 0.001: points are counted in thousandths")
    return from_milli(milli)


class PeriodReopen(Body):
    """Reopen a locked or published period; the reason is kept with the change."""

    reason: Text


class DecisionCreate(Body):
    """Confirm, adjust (``points`` and ``reason``) or reject (``reason``) a proposed deduction."""

    action: DecisionAction
    points: AdjustedPoints | None = None
    reason: Text | None = None

    def __post_init__(self) -> None:
        self.points = _counted(self.points)


class BulkDecision(DecisionCreate, kw_only=True):
    deduction_id: uuid.UUID


class BulkDecisions(Body):
    """Several decisions, each applied (or refused) on its own."""

    decisions: Annotated[list[BulkDecision], Meta(min_length=1, max_length=MAX_BULK)]


class DecisionOut(msgspec.Struct, kw_only=True):
    """A decision as stored; ``status`` is the deduction's status after it, ``ledger_seq`` the
    index of its ledger entry (``GET /ledger/entries/{seq}``, proofs by index)."""

    id: uuid.UUID
    deduction_id: uuid.UUID
    action: DecisionAction
    points: float | None
    reason: str | None
    decided_by: str
    decided_at: datetime
    status: DeductionStatus
    ledger_seq: int


class BulkResult(msgspec.Struct, kw_only=True):
    """One answer of a bulk request: the decision (``status_code`` 200) or the error."""

    deduction_id: uuid.UUID
    status_code: int
    decision: DecisionOut | None = None
    error: ErrorBody | None = None


class BulkDecisionsOut(msgspec.Struct, kw_only=True):
    results: list[BulkResult]


class ReviewEvidence(msgspec.Struct, kw_only=True):
    """A photo cited by the finding, with what a chief judges it by; ``distance_m`` is from the
    photo's GPS position to the visited unit's registered one."""

    id: uuid.UUID
    sha256: str
    thumbnail_url: str
    capture_time: datetime | None
    gps: GpsPosition | None
    distance_m: float | None
    flags: list[Flag]


class ReviewFinding(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    task_id: uuid.UUID
    visited_unit: str
    inspector: str
    team: list[str]
    note: str
    case_file: str | None
    recorded_at: datetime


class ReviewItem(msgspec.Struct, kw_only=True):
    """A proposed deduction with everything needed to judge it. ``flags`` are the distinct
    flag codes of its photos; ``missing_evidence`` ids the finding cites that were never filed."""

    deduction_id: uuid.UUID
    period_code: str
    unit_code: str
    indicator: str
    count: int
    points: float
    effect: str
    staff: list[str]
    created_by: str
    created_at: datetime
    finding: ReviewFinding | None
    evidence: list[ReviewEvidence]
    missing_evidence: list[str]
    flags: list[str]


AppealStatus = Literal["open", "upheld", "overturned", "partial"]


class DeductionAppeal(msgspec.Struct, kw_only=True):
    """Where the unit's appeal of a deduction stands: ``points`` is what a partial answer
    left the deduction worth; ``reason`` and ``decided_at`` come with the answer."""

    appeal_id: uuid.UUID
    status: AppealStatus
    filed_at: datetime
    answer_by: date
    points: float | None
    reason: str | None
    decided_at: datetime | None


class UnitDeduction(msgspec.Struct, kw_only=True):
    """A deduction decided against the unit, with its basis: the rule (indicator) and its
    points, the points counted (adjusted ones replace the rule's; 0 once an appeal overturned
    it), the finding's note, the photos it cites, the decision's reason, when the unit was
    (to be) told, and its appeal, if the unit filed one."""

    deduction_id: uuid.UUID
    period_code: str
    indicator: str
    count: int
    effect: str
    status: DeductionStatus
    rule_points: float
    points: float
    staff: list[str]
    note: str | None
    evidence_ids: list[uuid.UUID]
    reason: str | None
    decided_at: datetime
    notify_by: date
    notified_at: datetime | None
    appeal: DeductionAppeal | None


class NoticeOut(msgspec.Struct, kw_only=True):
    """A standing deduction its unit has not read by ``notify_by``."""

    deduction_id: uuid.UUID
    unit_code: str
    period_code: str
    indicator: str
    status: DeductionStatus
    decided_at: datetime
    notify_by: date
    days_overdue: int


AppealText = Annotated[str, Meta(min_length=1, max_length=2000, pattern=PRINTABLE)]
AppealOutcome = Literal["uphold", "overturn", "partial"]


class AppealCreate(Body):
    """Why the unit disputes the deduction, and photos (it may see) that support it."""

    text: AppealText
    evidence_ids: Annotated[list[uuid.UUID], Meta(max_length=20)] = []


class AppealDecision(Body, kw_only=True):
    """Uphold, overturn, or partially overturn (``points``: what the deduction is now worth,
    below its points in force); a committee member's vote."""

    outcome: AppealOutcome
    points: AdjustedPoints | None = None
    reason: Text

    def __post_init__(self) -> None:
        self.points = _counted(self.points)


class AppealVoteOut(msgspec.Struct, kw_only=True):
    """One chief's vote on an appeal."""

    voted_by: str
    outcome: AppealOutcome
    points: float | None
    reason: str
    voted_at: datetime


class AppealOut(msgspec.Struct, kw_only=True):
    """An appeal; ``answer_by`` is the date the answer is due (working days after filing).
    ``committee_size`` chiefs' votes decide it; ``votes`` are those cast so far (a unit sees
    them once the appeal is decided). A committee's ``points``, ``reason`` and ``decided_by``
    are those of the vote at the median."""

    id: uuid.UUID
    deduction_id: uuid.UUID
    unit_code: str
    period_code: str
    text: str
    evidence_ids: list[uuid.UUID]
    filed_by: str
    filed_at: datetime
    answer_by: date
    status: AppealStatus
    points: float | None
    reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    committee_size: int
    votes: list[AppealVoteOut]


class AuditOut(msgspec.Struct, kw_only=True):
    """One audited state change; ``request_id`` is the X-Request-ID of the request that made it."""

    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
