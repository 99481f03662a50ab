"""Case files drawn within each selected unit.

Each unit has its own ticket seed, ``derive_seed(seed, "case-files", unit_id)``, so a
third party can re-check one unit's files with ``consistent_sampler`` alone; file types
stratify within the unit and share that seed.

Registry digest, version 1: ``lines_digest("spotcheck-case-files/1", rows)`` with one row
``(unit_id, file_id, file_type)`` per case file of the units considered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import get_args

import numpy as np

from .algorithms import CONSISTENT_SHA256, get_algorithm
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


def _files_of(unit_id: str, files: Iterable[CaseFile]) -> list[tuple[str, str]]:
    out, seen = [], set()
    for f in files:
        file_id = f.file_id
        # Plain printable ASCII is already canonical unless padded with spaces.
        if not (type(file_id) is str and file_id.isascii() and file_id.isprintable()
                and file_id[:1] != " " and file_id[-1:] != " " and file_id):
            file_id = canonical_id(file_id, "case file id")
        if f.file_type not in FILE_TYPES:
            raise InvalidPopulation(f"case file {file_id!r} of unit {unit_id!r} has unknown type {f.file_type!r}")
        if file_id in seen:
            raise InvalidPopulation(f"case file {file_id!r} appears twice in unit {unit_id!r}", unit_id=unit_id)
        seen.add(file_id)
        out.append((file_id, f.file_type))
    return out


def case_file_digest(files_by_unit: Mapping[str, Sequence[tuple[str, str]]]) -> str:
    """Registry digest of canonical ``{unit_id: [(file_id, file_type), ...]}``."""
    return lines_digest(DIGEST_LABEL, ((u, f, t) for u, fs in files_by_unit.items() for f, t in fs))


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
    files = {u: _files_of(u, case_files.get(u, ())) for u in units}
    seeds = [derive_seed(seed, PURPOSE_CASE_FILES, u) for u in units]
    names, kinds, owner, groups, targets, group_unit = [], [], [], [], [], []
    for k, u in enumerate(units):
        if params.per_unit is not None:
            plan = [(params.per_unit, files[u])]
        else:
            plan = [(q, [f for f in files[u] if f[1] == t]) for t, q in sorted(params.per_type.items())]
        for quota, members in plan:
            want = target(quota, len(members))
            if want == 0:
                continue
            g = len(targets)
            targets.append(want)
            group_unit.append(k)
            for file_id, file_type in members:
                names.append(file_id)
                kinds.append(file_type)
            owner.extend([k] * len(members))
            groups.extend([g] * len(members))
    ids = as_id_array(names) if names else np.zeros(0, "S1")
    owner_arr = np.asarray(owner, np.int64)

    def exact(rows: np.ndarray) -> list:
        return [k for k, _ in algo.exact(ids[rows].tolist(), [seeds[owner[r]] for r in rows.tolist()])]

    rows: list[int] = []
    if targets:
        primary = algo.primary(ids, seeds, owner_arr)
        rows = bottom_k(primary, np.asarray(groups, np.int64), targets, algo.key_space, exact)[0].tolist()
    tickets = algo.exact([names[r].encode("utf-8") for r in rows], [seeds[owner[r]] for r in rows])
    by_unit: list[list[SelectedCaseFile]] = [[] for _ in units]
    for k in sorted(range(len(rows)), key=lambda k: (owner[rows[k]], tickets[k][0])):
        r = rows[k]
        by_unit[owner[r]].append(SelectedCaseFile(file_id=names[r], file_type=kinds[r], ticket=tickets[k][1]))
    results = [
        UnitCaseFiles(unit_id=u, ticket_seed=seeds[k], available=len(files[u]), files=tuple(by_unit[k]))
        for k, u in enumerate(units)
    ]
    return CaseFileSample(
        algorithm=algo.name, algorithm_version=algo.version,
        registry_digest=case_file_digest(files), units=tuple(results),
    )
