"""A complete draw and its verification.

``run_draw`` chains the three draws, each on its own derived seed: units, case files
within the selected units, inspector teams for their tasks. ``verify_draw`` recomputes a
recorded draw from the same inputs and lists every difference, field by field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from .algorithms import get_algorithm
from .assignment import AssignmentUnit, assign_inspectors
from .case_files import sample_case_files
from .errors import DrawMismatch, InvalidParameters, SamplingError
from .params import DrawParams
from .population import Population
from .records import CaseFile, Inspector
from .results import DRAW_FORMAT, Difference, Draw, Verification
from .seeds import SeedRecord, canonical_seed, compose_seed, verify_seed
from .units import sample_units_rows

__all__ = ["run_draw", "verify_draw", "verify_unit_sample"]

MAX_DIFFERENCES = 50

_EXPLAIN = {
    "units.population_digest": "the population differs from the one the draw used",
    "case_files.registry_digest": "the case files of the selected units differ from those the draw used",
    "assignment.roster_digest": "the inspector roster differs from the one the draw used",
    "assignment.exclusions_digest": "the conflicts or recent inspections differ from those the draw used",
    "units.ticket_seed": "the unit ticket seed differs: another seed was used",
}


def _seed_record(seed: str | SeedRecord, commitment: str | None) -> SeedRecord:
    if isinstance(seed, SeedRecord):
        if commitment is not None and seed.commitment is not None and commitment.lower() != seed.commitment:
            raise InvalidParameters("two different seed commitments were given")
        commitment = seed.commitment if commitment is None else commitment
        record = compose_seed(seed.parts) if seed.parts else SeedRecord(seed=canonical_seed(seed.seed))
        if record.seed != canonical_seed(seed.seed):
            raise InvalidParameters("the seed is not the composition of its recorded parts")
        seed = record
    else:
        seed = SeedRecord(seed=canonical_seed(seed))
    if commitment is not None:
        verify_seed(seed.seed, commitment)
        seed = msgspec.structs.replace(seed, commitment=commitment.lower())
    return seed


def run_draw(
    population: Population, params: DrawParams, seed: str | SeedRecord, *,
    case_files: Mapping[str, Iterable[CaseFile]] | None = None,
    inspectors: Iterable[Inspector] = (),
    conflicts: Iterable[tuple[str, str]] = (),
    recent: Iterable[tuple[str, str]] = (),
    commitment: str | None = None,
    workers: int | None = None,
) -> Draw:
    """Run a complete draw and return its immutable record.

    ``seed`` is the public seed, or a ``SeedRecord`` from ``compose_seed``; with a
    ``commitment`` (or one in the record) the seed must match it, else
    ``SeedCommitmentMismatch``. ``case_files`` maps unit ids to their files (only the
    selected units are read); ``conflicts`` and ``recent`` are (inspector id, unit id)
    pairs. The result depends only on the seed, the parameters and the inputs as sets.
    Raises ``SamplingError`` subclasses, never a bare exception, for bad input.
    """
    record = _seed_record(seed, commitment)
    algo = get_algorithm(params.algorithm)
    inspectors = list(inspectors)
    grid_field = params.assignment.grid_field if params.assignment is not None else None
    has_grid = grid_field is not None and grid_field in population.fields
    if grid_field is not None and not has_grid and any(i.home_grid for i in inspectors):
        raise InvalidParameters(
            f"inspectors have home grids but the population has no field {grid_field!r}", field=grid_field
        )
    units, rows = sample_units_rows(
        population, params.units, record.seed, algo.name,
        extra_fields=(grid_field,) if has_grid else (), workers=workers,
    )
    unit_ids = [u.unit_id for u in units.units]
    files = None
    if params.case_files is not None:
        files = sample_case_files(unit_ids, {} if case_files is None else case_files, params.case_files, record.seed, algo.name)
    assignment = None
    if params.assignment is not None:
        grids = population.values_at(grid_field, rows) if has_grid else [None] * len(rows)
        labels = [units.strata[u.stratum].label for u in units.units]
        assignment = assign_inspectors(
            [AssignmentUnit(u, g or None, s) for u, g, s in zip(unit_ids, grids, labels)],
            inspectors, params.assignment, record.seed, algo.name, conflicts=conflicts, recent=recent,
        )
    return Draw(
        algorithm=algo.name, algorithm_version=algo.version, seed=record, params=params,
        units=units, case_files=files, assignment=assignment,
    )


def _diff(path: str, recorded: object, recomputed: object, out: list[Difference]) -> None:
    if recorded == recomputed:
        return
    if isinstance(recorded, dict) and isinstance(recomputed, dict):
        for key in list(dict.fromkeys([*recorded, *recomputed])):
            _diff(f"{path}.{key}" if path else key, recorded.get(key), recomputed.get(key), out)
        return
    if isinstance(recorded, (list, tuple)) and isinstance(recomputed, (list, tuple)):
        for k in range(max(len(recorded), len(recomputed))):
            a = recorded[k] if k < len(recorded) else None
            b = recomputed[k] if k < len(recomputed) else None
            _diff(f"{path}[{k}]", a, b, out)
        return
    message = _EXPLAIN.get(path, "recorded and recomputed values differ")
    if recorded is None or recomputed is None:
        message = "only in the recomputed draw" if recorded is None else "only in the recorded draw"
    out.append(Difference(path=path, message=message, recorded=_show(recorded), recomputed=_show(recomputed)))


def _show(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else msgspec.json.encode(value).decode("utf-8")


def verify_draw(
    draw: Draw, population: Population, *,
    case_files: Mapping[str, Iterable[CaseFile]] | None = None,
    inspectors: Iterable[Inspector] = (),
    conflicts: Iterable[tuple[str, str]] = (),
    recent: Iterable[tuple[str, str]] = (),
    strict: bool = False,
    workers: int | None = None,
) -> Verification:
    """Recompute ``draw`` from the given inputs and report every difference.

    Differences name a path in the draw record (``units.units[3].unit_id``), the recorded
    and the recomputed value; digests come first, since a differing input explains the
    rest. A seed that fails its commitment, or inputs that make the draw impossible, are
    reported as differences too. With ``strict``, a mismatch raises ``DrawMismatch``.
    """
    differences: list[Difference] = []
    if draw.format != DRAW_FORMAT:
        differences.append(Difference("format", f"this library reads {DRAW_FORMAT}", draw.format, DRAW_FORMAT))
    try:
        algo = get_algorithm(draw.algorithm)
        if algo.version != draw.algorithm_version:
            differences.append(Difference(
                "algorithm_version", f"this library implements {algo.name} version {algo.version}",
                str(draw.algorithm_version), str(algo.version),
            ))
        recomputed = run_draw(
            population, draw.params, draw.seed, case_files=case_files, inspectors=inspectors,
            conflicts=conflicts, recent=recent, workers=workers,
        )
    except SamplingError as exc:
        differences.append(Difference("", f"the draw cannot be recomputed: {exc.message}", None, exc.code))
    else:
        found: list[Difference] = []
        _diff("", msgspec.to_builtins(draw), msgspec.to_builtins(recomputed), found)
        found.sort(key=lambda d: not d.path.endswith("digest"))
        differences.extend(found)
    result = _verification(differences)
    if strict and not result.ok:
        raise DrawMismatch(
            f"the draw does not verify: {differences[0].path or 'draw'}: {differences[0].message}",
            differences=msgspec.to_builtins(result.differences),
        )
    return result


def verify_unit_sample(draw: Draw, population: Population, *, workers: int | None = None) -> Verification:
    """Recompute only the unit sample of ``draw`` from ``population`` and list differences.

    For an auditor who holds the population (a registry export) but not the case files or
    the roster. The digest covers the same fields as the recorded draw, including the grid
    field its inspector assignment read.
    """
    differences: list[Difference] = []
    grid = draw.params.assignment.grid_field if draw.params.assignment is not None else None
    extra = (grid,) if grid is not None and grid in draw.units.population_fields else ()
    try:
        units, _ = sample_units_rows(population, draw.params.units, draw.seed.seed, draw.algorithm,
                                     extra_fields=extra, workers=workers)
    except SamplingError as exc:
        differences.append(Difference("units", f"the unit sample cannot be recomputed: {exc.message}", None, exc.code))
    else:
        _diff("units", msgspec.to_builtins(draw.units), msgspec.to_builtins(units), differences)
        differences.sort(key=lambda d: not d.path.endswith("digest"))
    return _verification(differences)


def _verification(differences: list[Difference]) -> Verification:
    """The first ``MAX_DIFFERENCES`` differences and a line counting the rest; ``total`` all."""
    total = len(differences)
    if total > MAX_DIFFERENCES:
        differences = differences[:MAX_DIFFERENCES] + [Difference("", f"... and {total - MAX_DIFFERENCES} more differences")]
    return Verification(ok=not differences, differences=tuple(differences), total=total)
