"""Bottom-k per group: the ``k`` smallest tickets of every stratum, exactly.

The exact order is (primary key, then the algorithm's tie-break). Sorting millions of
keys is what we avoid: tickets are uniform, so the k smallest of a group of c lie, with
overwhelming probability, below a threshold a few standard deviations above k/c of the
key space. One vectorized pass keeps those candidates; a group whose candidates fall
short is redone by a full scan, so the threshold affects speed only, never the result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["bottom_k"]

_ALL = np.iinfo(np.uint64).max


def _thresholds(counts: Sequence[int], targets: Sequence[int], key_space: int) -> np.ndarray:
    # Exclusive bounds: keys below them are candidates; 0 admits nothing. A key equal to
    # the top bound is missed, which makes its group fall short and be rescanned.
    thresholds = np.zeros(len(targets) + 1, np.uint64)
    for g, (t, c) in enumerate(zip(targets, counts)):
        if t <= 0:
            continue
        share = (t + 6 * math.sqrt(t) + 16) / c
        thresholds[g] = min(int(share * key_space), key_space, int(_ALL)) if t < c and share < 1 else _ALL
    return thresholds


def _resolve_ties(idx: np.ndarray, keys: np.ndarray, t: int, exact: Callable[[np.ndarray], list]) -> np.ndarray:
    # Equal primary keys inside the first t, or straddling position t, need the exact order.
    limit = keys[t - 1]
    tied = (len(keys) > t and keys[t] == limit) or bool(np.any(keys[1:t] == keys[: t - 1]))
    if not tied:
        return idx[:t]
    pool = idx[keys <= limit]
    sort_keys = exact(pool)
    order = sorted(range(len(pool)), key=lambda k: sort_keys[k])
    return pool[order[:t]]


def bottom_k(
    primary: np.ndarray,
    group: np.ndarray,
    targets: Sequence[int],
    key_space: int,
    exact: Callable[[np.ndarray], list],
    counts: Sequence[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Select, in each group g, the ``targets[g]`` items with the smallest keys.

    ``primary`` are uint64 keys below ``key_space``; ``group[i]`` is in ``0..G`` where
    ``G = len(targets)`` marks items outside every group; ``exact(indices)`` returns the
    exact sort keys of those items, consistent with ``primary``. Requires
    ``targets[g] <= size of group g`` (``counts``, computed if not given). Returns
    (indices, their groups), sorted by group and, within a group, in exact order.
    """
    n_groups = len(targets)
    want = np.asarray(targets, np.int64)
    if counts is None:
        counts = np.bincount(group, minlength=n_groups + 1)[:n_groups].tolist()
    thresholds = _thresholds(counts, targets, key_space)
    # One compare with the largest bound, then the few candidates with their group's own:
    # a bound gathered for every item writes 8 fresh bytes per item, and at 10,000,000 items
    # touching that memory for the first time cost more than the rest of this function.
    candidates = np.flatnonzero(primary < thresholds.max())
    cand_group = group[candidates]
    cand_keys = primary[candidates]
    own = cand_keys < thresholds[cand_group]
    candidates, cand_group, cand_keys = candidates[own], cand_group[own], cand_keys[own]
    order = np.lexsort((cand_keys, cand_group))
    candidates, cand_group, cand_keys = candidates[order], cand_group[order], cand_keys[order]
    bounds = np.searchsorted(cand_group, np.arange(n_groups + 1))
    rank = np.arange(len(candidates)) - bounds[cand_group]
    limit = want[cand_group]
    # Groups needing care, done one by one: too few candidates (threshold too tight), or
    # equal keys among the first target + 1 (the exact tie-break decides).
    special = (bounds[1:] - bounds[:-1]) < want
    tied = (cand_group[1:] == cand_group[:-1]) & (cand_keys[1:] == cand_keys[:-1]) & (rank[1:] <= limit[1:])
    special[cand_group[1:][tied]] = True
    keep = (rank < limit) & ~special[cand_group]
    rows, groups = [candidates[keep]], [cand_group[keep]]
    for g in np.flatnonzero(special).tolist():
        idx = np.flatnonzero(group == g)
        idx = idx[np.argsort(primary[idx], kind="stable")]
        chosen = _resolve_ties(idx, primary[idx], targets[g], exact)
        rows.append(chosen)
        groups.append(np.full(len(chosen), g, cand_group.dtype))
    rows_all, groups_all = np.concatenate(rows), np.concatenate(groups)
    order = np.argsort(groups_all, kind="stable")
    return rows_all[order], groups_all[order]
