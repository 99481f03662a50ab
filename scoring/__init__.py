"""Spotcheck scoring: deduction catalogs, findings to deductions, period scores,
grades, ranks and warnings, and scheme aggregation. A pure library: standard
library, numpy and msgspec only.

Typical use::

    catalog = load_catalog("catalog.yaml")            # or shipped_catalog(code)
    proposal = propose(catalog, finding)              # points of one finding
    scores = score_period(catalog, units, findings, measurements,
                          period="2024", basis="confirmed",
                          grading=scheme.grading, ranking=scheme.ranking)
    batch = score_batch(catalog, units, finding_arrays(catalog, units, findings),
                        metric_arrays(catalog, units, measurements, "2024"))
    result = score_scheme(scheme, "unit-1", {"key_work": [...], "routine_work": [...]},
                          bonus=4, vetoed=False)

See docs/scoring.md for the file format and the exact semantics of each rule.
"""

from .aggregate import rate_of, score_scheme, score_scheme_all
from .appeals import CommitteeDecision, Vote, committee_decision
from .arrays import FindingArrays, MetricArrays, finding_arrays, metric_arrays
from .batch import BatchScores, score_batch
from .errors import CatalogError, InputError, SchemeError, ScoringError
from .explain import propose, score_period, score_unit
from .grading import apply_grading, rank
from .inputs import Basis, Finding, Measurement, Unit, select, unit_tier
from .loading import decode_catalog, decode_scheme, load_catalog, load_scheme
from .model import (
    Attribution,
    BonusLevel,
    BonusLevels,
    BonusPerOccurrence,
    Catalog,
    DeductOnlyTarget,
    Indicator,
    Item,
    PerOccurrence,
    PerQuantity,
    Rule,
    Stage,
    StagedTarget,
    SubItem,
    Target,
    TierBonus,
    UnitTier,
    Veto,
    WarningThreshold,
)
from .points import MILLI
from .results import (
    ComponentResult,
    IndicatorScore,
    ItemScore,
    Line,
    MeasurementUse,
    ProposedDeduction,
    SchemeResult,
    StaffCharge,
    StaffTotal,
    StagedWarning,
    SubItemScore,
    UnitScore,
    VetoRef,
)
from .schemes import BonusPolicy, Component, GradeBand, Grading, Ranking, Scheme
from .shipped import ShippedEntry, list_shipped, shipped_catalog, shipped_scheme
from .staff import staff_totals
from .validation import check_catalog, check_grading, check_ranking, check_scheme

__all__ = [
    # errors
    "ScoringError", "CatalogError", "SchemeError", "InputError",
    # catalog model
    "Catalog", "Item", "SubItem", "Indicator", "UnitTier", "Attribution", "Rule",
    "PerOccurrence", "PerQuantity", "Target", "DeductOnlyTarget", "StagedTarget",
    "Stage", "WarningThreshold", "Veto", "BonusLevels", "BonusLevel",
    "BonusPerOccurrence", "TierBonus",
    # schemes
    "Scheme", "Component", "BonusPolicy", "Grading", "GradeBand", "Ranking",
    # loading and checks
    "load_catalog", "load_scheme", "decode_catalog", "decode_scheme",
    "check_catalog", "check_scheme", "check_grading", "check_ranking",
    "list_shipped", "shipped_catalog", "shipped_scheme", "ShippedEntry",
    # inputs
    "Unit", "Finding", "Measurement", "Basis", "select", "unit_tier",
    # explainable scoring
    "propose", "score_unit", "score_period", "staff_totals", "apply_grading", "rank",
    # results
    "UnitScore", "ItemScore", "SubItemScore", "IndicatorScore", "Line",
    "MeasurementUse", "StagedWarning", "VetoRef", "ProposedDeduction",
    "StaffTotal", "StaffCharge", "SchemeResult", "ComponentResult",
    # schemes over periods
    "rate_of", "score_scheme", "score_scheme_all",
    # batch
    "score_batch", "BatchScores", "FindingArrays", "MetricArrays",
    "finding_arrays", "metric_arrays",
    "MILLI",
    # appeals
    "committee_decision", "CommitteeDecision", "Vote",
]
