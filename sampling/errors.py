"""Domain exceptions of the sampling library.

Every error carries a stable ``code`` (snake_case) and a ``details`` mapping so that
``api/`` can map it to the ``{"code", "message", "details"}`` error shape without parsing
messages. ``sampling`` itself never knows about HTTP.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DrawMismatch",
    "InfeasibleAssignment",
    "InvalidParameters",
    "InvalidPopulation",
    "InvalidSeed",
    "SamplingError",
    "SeedCommitmentMismatch",
]


class SamplingError(Exception):
    """Base class of every error raised by ``sampling``."""

    code = "sampling_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details


class InvalidPopulation(SamplingError):
    """A unit, case file or inspector record is not canonical, or an id is repeated."""

    code = "invalid_population"


class InvalidParameters(SamplingError):
    """Parameters do not fit the population (unknown field, stratum without a rule ...)."""

    code = "invalid_parameters"


class InvalidSeed(SamplingError):
    """A seed, seed part or commitment is malformed."""

    code = "invalid_seed"


class SeedCommitmentMismatch(SamplingError):
    """The revealed seed does not hash to the published commitment."""

    code = "seed_commitment_mismatch"


class InfeasibleAssignment(SamplingError):
    """A task cannot be staffed: fewer eligible inspectors than the team size.

    ``details`` names the unit, its stratum, the task kind, how many inspectors were
    eligible and how many were needed.
    """

    code = "infeasible_assignment"


class DrawMismatch(SamplingError):
    """A recomputed draw differs from the recorded one; ``details["differences"]`` lists how."""

    code = "draw_mismatch"
