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


def _thresholds(counts: np.ndarray, targets: Sequence[int], key_space: int) -> np.ndarray:
    thresholds = np.zeros(len(targets) + 1, np.uint64)
    for g, (t, c) in enumerate(zip(targets, counts.tolist())):
        if t >= c:
            thresholds[g] = _ALL
        elif t > 0:
            share = (t + 6 * math.sqrt(t) + 16) / c
            thresholds[g] = min(int(share * key_space), key_space - 1) if share < 1 else _ALL
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
) -> list[np.ndarray]:
    """Return, for each group g, the indices of its ``targets[g]`` smallest items in order.

    ``primary`` are uint64 keys below ``key_space``; ``group[i]`` is in ``0..G`` where
    ``G = len(targets)`` marks items outside every group; ``exact(indices)`` returns the
    exact sort keys of those items, consistent with ``primary``. Requires
    ``targets[g] <= size of group g``.
    """
    n_groups = len(targets)
    counts = np.bincount(group, minlength=n_groups + 1)[:n_groups]
    thresholds = _thresholds(counts, targets, key_space)
    active = np.array([t > 0 for t in targets] + [False])
    candidates = np.flatnonzero((primary <= thresholds[group]) & active[group])
    cand_group = group[candidates]
    cand_keys = primary[candidates]
    order = np.lexsort((cand_keys, cand_group))
    candidates, cand_group, cand_keys = candidates[order], cand_group[order], cand_keys[order]
    bounds = np.searchsorted(cand_group, np.arange(n_groups + 1))
    selected = []
    for g, t in enumerate(targets):
        idx = candidates[bounds[g] : bounds[g + 1]]
        keys = cand_keys[bounds[g] : bounds[g + 1]]
        if t == 0:
            selected.append(idx[:0])
            continue
        if len(idx) < t:  # threshold too tight for this group: scan it whole
            idx = np.flatnonzero(group == g)
            order = np.argsort(primary[idx], kind="stable")
            idx, keys = idx[order], primary[idx][order]
        selected.append(_resolve_ties(idx, keys, t, exact))
    return selected
