"""Result Structs. All frozen; sequences are tuples; JSON round-trips with msgspec."""

from __future__ import annotations

import msgspec

from .params import DrawParams
from .seeds import SeedRecord

__all__ = [
    "Assignment",
    "CaseFileSample",
    "Difference",
    "Draw",
    "DRAW_FORMAT",
    "SelectedCaseFile",
    "SelectedUnit",
    "StratumSummary",
    "Task",
    "UnitCaseFiles",
    "UnitSample",
    "Verification",
    "Workload",
]

DRAW_FORMAT = "spotcheck-draw/1"


class _Frozen(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pass


class _ByAlgorithm(_Frozen, frozen=True):
    # Every part of a draw names the algorithm and version that produced it.
    algorithm: str
    algorithm_version: int


class StratumSummary(_Frozen, frozen=True):
    """One stratum: its values (aligned with ``stratify_by``), size, rule and target."""

    index: int
    values: tuple[str, ...]
    label: str
    population: int
    rule: int
    target: int
    selected: int


class SelectedUnit(_Frozen, frozen=True):
    """A drawn unit: its stratum index, 1-based rank within the stratum and ticket."""

    unit_id: str
    stratum: int
    rank: int
    ticket: str


class UnitSample(_ByAlgorithm, frozen=True):
    """Units drawn, in draw order (ascending ticket across all strata)."""

    ticket_seed: str
    population_digest: str
    population_fields: tuple[str, ...]
    population_size: int
    eligible_size: int
    stratify_by: tuple[str, ...]
    strata: tuple[StratumSummary, ...]
    units: tuple[SelectedUnit, ...]


class SelectedCaseFile(_Frozen, frozen=True):
    """A drawn case file with its ticket under the unit's ticket seed."""

    file_id: str
    file_type: str
    ticket: str


class UnitCaseFiles(_Frozen, frozen=True):
    """Case files drawn in one unit, in draw order, with the unit's ticket seed."""

    unit_id: str
    ticket_seed: str
    available: int
    files: tuple[SelectedCaseFile, ...]


class CaseFileSample(_ByAlgorithm, frozen=True):
    """Case files drawn per selected unit (in draw order) and the registry digest."""

    registry_digest: str
    units: tuple[UnitCaseFiles, ...]


class Task(_Frozen, frozen=True):
    """One task of a selected unit and its team (inspector ids in ascending order)."""

    unit_id: str
    kind: str
    team: tuple[str, ...]


class Workload(_Frozen, frozen=True):
    """Number of tasks of one capable inspector."""

    inspector_id: str
    tasks: int


class Assignment(_ByAlgorithm, frozen=True):
    """Teams for every task; workload over the inspectors able to take at least one task.

    ``spread`` is max minus min of that workload; it is the smallest achievable, and at
    most 1 whenever the constraints allow it.
    """

    roster_digest: str
    exclusions_digest: str
    tasks: tuple[Task, ...]
    workload: tuple[Workload, ...]
    spread: int


class Draw(_ByAlgorithm, frozen=True):
    """A complete draw: algorithm, seed, parameters, digests of the inputs and results."""

    seed: SeedRecord
    params: DrawParams
    units: UnitSample
    case_files: CaseFileSample | None
    assignment: Assignment | None
    format: str = DRAW_FORMAT


class Difference(_Frozen, frozen=True):
    """One way a recorded draw differs from its recomputation."""

    path: str
    message: str
    recorded: str | None = None
    recomputed: str | None = None


class Verification(_Frozen, frozen=True):
    """Outcome of ``verify_draw``: ``ok`` and the differences found (digests first): the first
    ``MAX_DIFFERENCES`` of them, then one line saying how many more; ``total`` counts them all."""

    ok: bool
    differences: tuple[Difference, ...]
    total: int = 0
