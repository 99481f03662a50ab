"""Case files drawn within each selected unit.

Each unit has its own ticket seed, ``derive_seed(seed, "case-files", unit_id)``, so a
third party can re-check one unit's files with ``consistent_sampler`` alone; file types
stratify within the unit and share that seed.

Registry digest, version 1: ``lines_digest("spotcheck-case-files/1", rows)`` with one row
``(unit_id, file_id, file_type)`` per case file of the units considered.

Files are flattened into arrays once, so the per-file Python work is a validation and an
append: registries with hundreds of files per unit stay cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import get_args

import numpy as np

from .algorithms import CONSISTENT_SHA256, get_algorithm, rank_tickets
from .canonical import canonical_id
from .digests import lines_digest
from .errors import InvalidPopulation
from .idarray import as_id_array
from .params import CaseFileSampling, FileType, target
from .records import CaseFile
from .results import CaseFileSample, SelectedCaseFile, UnitCaseFiles
from .seeds import PURPOSE_CASE_FILES, canonical_seed, derive_seed
from .select import bottom_k

__all__ = ["FILE_TYPES", "case_file_digest", "sample_case_files"]

FILE_TYPES: tuple[str, ...] = get_args(FileType)
DIGEST_LABEL = "spotcheck-case-files/1"


_TYPE_CODE = {t: k for k, t in enumerate(FILE_TYPES)}


def _registry(units: list[str], case_files: Mapping[str, Iterable[CaseFile]]):
    """Flatten the files of ``units``: (file ids, type codes, owning unit index), checked."""
    names: list[str] = []
    codes: list[int] = []
    owner: list[int] = []
    for k, unit_id in enumerate(units):
        first = len(names)
        for f in case_files.get(unit_id, ()):
            file_id = f.file_id
            # Plain printable ASCII is already canonical unless padded with spaces.
            if not (type(file_id) is str and file_id.isascii() and file_id.isprintable()
                    and file_id[:1] != " " and file_id[-1:] != " " and file_id):
                file_id = canonical_id(file_id, "case file id")
            code = _TYPE_CODE.get(f.file_type)
            if code is None:
                raise InvalidPopulation(f"case file {file_id!r} of unit {unit_id!r} has unknown type {f.file_type!r}")
            names.append(file_id)
            codes.append(code)
        owner.extend([k] * (len(names) - first))
        if len(set(names[first:])) != len(names) - first:
            seen: set[str] = set()
            dup = next(n for n in names[first:] if n in seen or seen.add(n))
            raise InvalidPopulation(f"case file {dup!r} appears twice in unit {unit_id!r}", unit_id=unit_id)
    return names, np.asarray(codes, np.int64), np.asarray(owner, np.int64)


def case_file_digest(rows: Iterable[tuple[str, str, str]]) -> str:
    """Registry digest of canonical ``(unit_id, file_id, file_type)`` rows."""
    return lines_digest(DIGEST_LABEL, rows)


def sample_case_files(
    unit_ids: Sequence[str], case_files: Mapping[str, Iterable[CaseFile]], params: CaseFileSampling,
    seed: str, algorithm: str = CONSISTENT_SHA256,
) -> CaseFileSample:
    """Draw case files in each of ``unit_ids`` (kept in the given order).

    ``case_files`` maps canonical unit ids to their files (a unit absent from it has
    none). Per unit (or per unit and type with ``per_type``) the ``target`` files with the
    smallest tickets under the unit's ticket seed are drawn; the result lists them in
    ticket order. Raises ``InvalidPopulation`` for a repeated or non-canonical file id.
    """
    algo = get_algorithm(algorithm)
    seed = canonical_seed(seed)
    units = [canonical_id(u, "unit id") for u in unit_ids]
    if len(set(units)) != len(units):
        raise InvalidPopulation("a unit is listed twice for case-file sampling")
    names, codes, owner = _registry(units, case_files)
    seeds = [derive_seed(seed, PURPOSE_CASE_FILES, u) for u in units]
    # One group per unit, or per unit and file type.
    if params.per_unit is not None:
        group, quotas = owner, [params.per_unit] * len(units)
    else:
        group = owner * len(FILE_TYPES) + codes
        quotas = [params.per_type.get(t) for _ in units for t in FILE_TYPES]
    counts = np.bincount(group, minlength=len(quotas)).tolist()
    targets = [target(q, c) if q is not None and c else 0 for q, c in zip(quotas, counts)]
    drawn = np.flatnonzero(np.asarray(targets, np.int64)[group] > 0) if names else np.zeros(0, np.int64)
    ids = as_id_array([names[r] for r in drawn.tolist()]) if len(drawn) else np.zeros(0, "S1")
    seed_of = owner[drawn]

    def exact(rows: np.ndarray) -> list:
        return algo.exact(ids[rows].tolist(), [seeds[w] for w in seed_of[rows].tolist()])

    chosen: list[int] = []
    if len(drawn):
        primary = algo.primary(ids, seeds, seed_of)
        chosen = drawn[bottom_k(primary, group[drawn], targets, algo.key_space, exact, counts=counts)[0]].tolist()
    owners = owner.tolist()
    order, tickets = rank_tickets(
        algo, [names[r].encode("utf-8") for r in chosen], [seeds[owners[r]] for r in chosen],
        groups=[owners[r] for r in chosen],
    )
    by_unit: list[list[SelectedCaseFile]] = [[] for _ in units]
    for k in order:
        r = chosen[k]
        by_unit[owners[r]].append(SelectedCaseFile(file_id=names[r], file_type=FILE_TYPES[codes[r]], ticket=tickets[k]))
    available = np.bincount(owner, minlength=len(units)).tolist()
    kinds = codes.tolist()
    return CaseFileSample(
        algorithm=algo.name, algorithm_version=algo.version,
        registry_digest=case_file_digest(
            (units[o], n, FILE_TYPES[c]) for n, o, c in zip(names, owners, kinds)
        ),
        units=tuple(
            UnitCaseFiles(unit_id=u, ticket_seed=seeds[k], available=available[k], files=tuple(by_unit[k]))
            for k, u in enumerate(units)
        ),
    )
