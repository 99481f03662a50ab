"""Ids held as a numpy ``S`` array: UTF-8 bytes, zero-padded to a common width.

Canonical ids never contain NUL, so the padding is unambiguous and ``tolist()`` gives back
each id's exact bytes. A fixed-width array keeps ten million ids in one buffer instead of
ten million Python objects, and lets the keyed algorithm read them without a Python loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["as_id_array", "byte_rows", "row_lengths"]


def as_id_array(ids: Sequence[str]) -> np.ndarray:
    """Return canonical ``ids`` (already validated) as a zero-padded UTF-8 ``S`` array."""
    encoded = [i.encode("utf-8") for i in ids]
    width = max((len(b) for b in encoded), default=1)
    return np.array(encoded, dtype=f"S{max(width, 1)}")


def byte_rows(ids: np.ndarray) -> np.ndarray:
    """Return an (n, width) uint8 view of an ``S`` array (no copy)."""
    return ids.view(np.uint8).reshape(len(ids), ids.dtype.itemsize)


def row_lengths(rows: np.ndarray) -> np.ndarray:
    """Return the byte length of each zero-padded row (ids have no interior NUL)."""
    width = rows.shape[1]
    lengths = np.full(len(rows), width, np.int64)
    # Padding sits at the tail: count zeros column by column from the right, and stop at
    # the first column without any (a reduction along axis 1 is several times slower).
    for column in range(width - 1, -1, -1):
        zero = rows[:, column] == 0
        if not zero.any():
            break
        lengths -= zero
    return lengths
