"""Seeded, publicly verifiable draws for "double random, one public" spot checks.

Pure library (standard library, numpy, msgspec). The protocol is specified in
docs/sampling.md; ``sampling.reference`` holds plain-Python reference implementations a
third party can run. Entry points: ``run_draw`` and ``verify_draw``.
"""

from .algorithms import (
    CONSISTENT_SHA256,
    CONSISTENT_SHA256_VERSION,
    PHILOX_KEYED,
    PHILOX_KEYED_VERSION,
    Ticket,
    draw_order,
)
from .assignment import AssignmentUnit, assign_inspectors, exclusions_digest, roster_digest
from .canonical import canonical_id, canonical_value
from .case_files import FILE_TYPES, case_file_digest, sample_case_files
from .draw import run_draw, verify_draw, verify_unit_sample
from .errors import (
    DrawMismatch,
    InfeasibleAssignment,
    InvalidParameters,
    InvalidPopulation,
    InvalidSeed,
    SamplingError,
    SeedCommitmentMismatch,
)
from .params import (
    AssignmentParams,
    CaseFileSampling,
    DrawParams,
    Quota,
    StratumRule,
    UnitSampling,
    target,
)
from .population import Categorical, Population
from .records import QUALIFICATION_FOR_KIND, CaseFile, Inspector
from .results import (
    Assignment,
    CaseFileSample,
    Difference,
    Draw,
    SelectedCaseFile,
    SelectedUnit,
    StratumSummary,
    Task,
    UnitCaseFiles,
    UnitSample,
    Verification,
    Workload,
)
from .seeds import (
    PURPOSE_CASE_FILES,
    PURPOSE_INSPECTORS,
    PURPOSE_UNITS,
    SeedPart,
    SeedRecord,
    compose_seed,
    derive_seed,
    seed_commitment,
    verify_seed,
)
from .units import sample_units

__all__ = [
    "CONSISTENT_SHA256",
    "CONSISTENT_SHA256_VERSION",
    "FILE_TYPES",
    "PHILOX_KEYED",
    "PHILOX_KEYED_VERSION",
    "PURPOSE_CASE_FILES",
    "PURPOSE_INSPECTORS",
    "PURPOSE_UNITS",
    "QUALIFICATION_FOR_KIND",
    "Assignment",
    "AssignmentParams",
    "AssignmentUnit",
    "CaseFile",
    "CaseFileSample",
    "CaseFileSampling",
    "Categorical",
    "Difference",
    "Draw",
    "DrawMismatch",
    "DrawParams",
    "InfeasibleAssignment",
    "Inspector",
    "InvalidParameters",
    "InvalidPopulation",
    "InvalidSeed",
    "Population",
    "Quota",
    "SamplingError",
    "SeedCommitmentMismatch",
    "SeedPart",
    "SeedRecord",
    "SelectedCaseFile",
    "SelectedUnit",
    "StratumRule",
    "StratumSummary",
    "Task",
    "Ticket",
    "UnitCaseFiles",
    "UnitSample",
    "UnitSampling",
    "Verification",
    "Workload",
    "assign_inspectors",
    "canonical_id",
    "canonical_value",
    "case_file_digest",
    "compose_seed",
    "derive_seed",
    "draw_order",
    "exclusions_digest",
    "roster_digest",
    "run_draw",
    "sample_case_files",
    "sample_units",
    "seed_commitment",
    "target",
    "verify_draw",
    "verify_unit_sample",
    "verify_seed",
]
