"""Stratified sampling of units without replacement.

Every stratum is drawn with the same ticket seed, so a stratum's draw is the whole
draw filtered to that stratum (subset consistency), and the published draw order is
simply ascending ticket across strata.
"""

from __future__ import annotations


import numpy as np

from .algorithms import CONSISTENT_SHA256, get_algorithm, rank_tickets
from .canonical import canonical_value, utf8_key
from .errors import InvalidParameters
from .params import UnitSampling, target
from .population import Population
from .results import SelectedUnit, StratumSummary, UnitSample
from .seeds import PURPOSE_UNITS, canonical_seed, derive_seed
from .select import bottom_k

__all__ = ["sample_units", "sample_units_rows", "stratum_label"]

_DENSE_LIMIT = 1 << 22


def stratum_label(stratify_by: tuple[str, ...], values: tuple[str, ...]) -> str:
    """Human-readable stratum name, e.g. ``"risk_class=I, district=南山"`` (``"all"`` if none)."""
    return ", ".join(f"{f}={v}" for f, v in zip(stratify_by, values)) or "all"


def _eligible(population: Population, params: UnitSampling) -> np.ndarray | None:
    mask = None
    for field, allowed in params.filter.items():
        column = population.column(field)
        wanted = {canonical_value(v) for v in allowed}
        keep = np.array([level in wanted for level in column.levels], dtype=bool)
        part = keep[column.codes]
        mask = part if mask is None else mask & part
    return mask


def _strata(population: Population, params: UnitSampling, mask: np.ndarray | None):
    """Return (group per unit with G for excluded, list of stratum value tuples, counts)."""
    columns = [population.column(f) for f in params.stratify_by]
    sizes = [len(c.levels) for c in columns]
    stride = int(np.prod(sizes, dtype=np.int64)) if sizes else 1
    # Mixed-radix code of the stratum values, in the narrowest integer type that holds
    # it: at ten million units every pass over the column counts.
    kind = np.int32 if stride < 2**31 - 1 else np.int64
    if len(columns) == 1 and mask is None:
        combined = columns[0].codes
    else:
        combined = np.zeros(len(population), kind)
        step = 1
        for column, size in zip(reversed(columns), reversed(sizes)):
            combined += column.codes.astype(kind) * kind(step)
            step *= size
    if mask is not None:
        combined[~mask] = stride  # one past every real combination
    if stride <= _DENSE_LIMIT:
        counts = np.bincount(combined, minlength=stride + 1)[:stride]
        present = np.flatnonzero(counts)
        counts = counts[present]
        inverse, slots = combined, stride + 1
    else:  # too many combinations for a dense table: sort instead
        present, inverse = np.unique(combined, return_inverse=True)
        counts = np.bincount(inverse)
        slots = len(present)
        if mask is not None and len(present) and present[-1] == stride:
            present, counts = present[:-1], counts[:-1]
    decoded = []
    for code in present.tolist():
        values = []
        for column, size in zip(reversed(columns), reversed(sizes)):
            values.append(column.levels[code % size])
            code //= size
        decoded.append(tuple(reversed(values)))
    ranking = sorted(range(len(present)), key=lambda k: tuple(utf8_key(v) for v in decoded[k]))
    n_groups = len(present)
    position = np.empty(n_groups, np.int32)
    position[ranking] = np.arange(n_groups, dtype=np.int32)
    table = np.full(slots, n_groups, np.int32)
    table[present if slots == stride + 1 else np.arange(n_groups)] = position
    group = table[inverse]
    sizes_out = counts[ranking]
    return group, [decoded[k] for k in ranking], sizes_out.tolist()


def _rule_for(params: UnitSampling, values: tuple[str, ...]) -> int:
    named = dict(zip(params.stratify_by, values))
    for number, rule in enumerate(params.rules):
        if all(named[f] == canonical_value(v) for f, v in rule.where.items()):
            return number
    label = stratum_label(params.stratify_by, values)
    raise InvalidParameters(f"no rule matches stratum {label}", stratum=label)


def sample_units(
    population: Population, params: UnitSampling, seed: str,
    algorithm: str = CONSISTENT_SHA256, *, workers: int | None = None,
) -> UnitSample:
    """Draw units: for every stratum, the ``target`` units with the smallest tickets.

    ``seed`` is the public draw seed; tickets use ``derive_seed(seed, "units")``, which
    the result records as ``ticket_seed``. The population digest covers the fields the
    parameters read. Raises ``InvalidParameters`` for an unknown field or a stratum no
    rule matches, ``InvalidPopulation`` for a repeated id. ``workers`` caps the threads of
    the keyed algorithm; it never changes the result.
    """
    return sample_units_rows(population, params, seed, algorithm, workers=workers)[0]


def sample_units_rows(
    population: Population, params: UnitSampling, seed: str, algorithm: str = CONSISTENT_SHA256,
    *, extra_fields: tuple[str, ...] = (), workers: int | None = None,
) -> tuple[UnitSample, list[int]]:
    """``sample_units`` plus the population rows of the drawn units (in draw order).

    ``extra_fields`` are added to the digest (e.g. the grid field the assignment reads).
    """
    algo = get_algorithm(algorithm)
    ticket_seed = derive_seed(canonical_seed(seed), PURPOSE_UNITS)
    fields = tuple(sorted(params.fields() | frozenset(extra_fields), key=utf8_key))
    digest = population.digest(fields)
    mask = _eligible(population, params)
    group, strata_values, counts = _strata(population, params, mask)
    rules = [_rule_for(params, values) for values in strata_values]
    targets = [target(params.rules[r], c) for r, c in zip(rules, counts)]
    ids = population.id_array
    # Ticket only the units the filter keeps: hashing is the cost that matters.
    kept = None if mask is None else np.flatnonzero(mask)
    pool = ids if kept is None else ids[kept]

    def exact(rows: np.ndarray) -> list:
        return algo.exact(pool[rows].tolist(), [ticket_seed] * len(rows))

    if sum(targets):
        primary = algo.primary(pool, [ticket_seed], workers=workers)
        rows, stratum_of = bottom_k(
            primary, group if kept is None else group[kept], targets, algo.key_space, exact, counts=counts
        )
        rows = rows if kept is None else kept[rows]
    else:
        rows, stratum_of = np.zeros(0, np.int64), np.zeros(0, np.int64)
    selected = np.bincount(stratum_of, minlength=len(targets)).tolist()
    order, tickets = rank_tickets(algo, ids[rows].tolist(), [ticket_seed] * len(rows))
    unit_ids = population.ids_at(rows.tolist())
    seen = [0] * len(targets)
    units = []
    for k in order:
        s = int(stratum_of[k])
        seen[s] += 1
        units.append(SelectedUnit(unit_id=unit_ids[k], stratum=s, rank=seen[s], ticket=tickets[k]))
    strata = tuple(
        StratumSummary(
            index=i, values=values, label=stratum_label(params.stratify_by, values),
            population=counts[i], rule=rules[i], target=targets[i], selected=selected[i],
        )
        for i, values in enumerate(strata_values)
    )
    return UnitSample(
        algorithm=algo.name, algorithm_version=algo.version, ticket_seed=ticket_seed,
        population_digest=digest, population_fields=fields, population_size=len(population),
        eligible_size=int(len(population) if mask is None else np.count_nonzero(mask)),
        stratify_by=params.stratify_by, strata=strata, units=tuple(units),
    ), [int(rows[k]) for k in order]
