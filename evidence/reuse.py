"""Finding near-duplicate perceptual hashes fast: multi-index hashing.

The 64 bits of a pHash are split into ``bands`` equal bands stored as indexed
integer columns (or, in memory, sorted arrays). Pigeonhole principle: if two
hashes differ in at most ``r`` bits, at least one of the ``b`` bands differs in
at most ``r // b`` bits. So probing each band with every value within
``r // b`` bits of the query's band finds **every** stored hash within distance
``r``, exactly, whatever ``r``; the candidates are then filtered by their true
Hamming distance. The cost is the number of probe values per band:

=========  ============  ================================  ===============
bands (b)  band width    max_distance r -> probes per band  total probes
=========  ============  ================================  ===============
4          16 bits       r <= 3: 1; r <= 7: 17; r <= 11: 137  4, 68, 548
8          8 bits        r <= 7: 1; r <= 15: 9                8, 72
=========  ============  ================================  ===============

With a database, api/ stores ``band_values(h)`` in columns ``band_0..band_{b-1}``
(INTEGER, one B-tree index each) next to the full hash (BIGINT via
:func:`to_signed64`) and queries
``WHERE band_0 IN (:p0) OR band_1 IN (:p1) ...`` with the lists from
:func:`band_probes`, then keeps rows with ``hamming(row, h) <= r``.
"""

from __future__ import annotations

from itertools import combinations

import msgspec
import numpy as np

from evidence.phash import HASH_BITS

__all__ = [
    "BandScheme",
    "band_values",
    "band_probes",
    "to_signed64",
    "from_signed64",
    "popcount64",
    "NearDuplicateIndex",
]

_MASK64 = (1 << 64) - 1


class BandScheme(msgspec.Struct, frozen=True):
    """How the 64 bits are cut: ``bands`` contiguous bands, band 0 the most significant."""

    bands: int = 4

    def __post_init__(self) -> None:
        if self.bands < 1 or HASH_BITS % self.bands:
            raise ValueError("bands must divide 64")

    @property
    def width(self) -> int:
        """Bits per band."""
        return HASH_BITS // self.bands

    def probe_radius(self, max_distance: int) -> int:
        """Per-band radius that makes a search within ``max_distance`` exact."""
        if max_distance < 0:
            raise ValueError("max_distance must be >= 0")
        return max_distance // self.bands

    def exact_up_to(self, probe_radius: int) -> int:
        """Largest distance found exactly when probing each band within ``probe_radius``."""
        return self.bands * (probe_radius + 1) - 1


def band_values(h: int, scheme: BandScheme = BandScheme()) -> tuple[int, ...]:
    """The band integers of hash ``h`` (each in ``[0, 2**width)``), band 0 first."""
    h &= _MASK64
    width, mask = scheme.width, (1 << scheme.width) - 1
    return tuple((h >> (HASH_BITS - width * (i + 1))) & mask for i in range(scheme.bands))


def _neighbours(value: int, width: int, radius: int) -> list[int]:
    out = [value]
    for flips in range(1, radius + 1):
        for bits in combinations(range(width), flips):
            mask = 0
            for bit in bits:
                mask |= 1 << bit
            out.append(value ^ mask)
    return out


def band_probes(h: int, max_distance: int, scheme: BandScheme = BandScheme()) -> list[list[int]]:
    """For each band, the values to look up so that every stored hash within
    ``max_distance`` of ``h`` is among the candidates (see the module docstring)."""
    radius = scheme.probe_radius(max_distance)
    return [_neighbours(v, scheme.width, radius) for v in band_values(h, scheme)]


def to_signed64(h: int) -> int:
    """Unsigned 64-bit hash -> the same bits as a signed BIGINT for SQL."""
    h &= _MASK64
    return h - (1 << 64) if h >= 1 << 63 else h


def from_signed64(v: int) -> int:
    """Signed BIGINT from SQL -> the unsigned 64-bit hash."""
    return v & _MASK64


_BYTE_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def popcount64(values: np.ndarray) -> np.ndarray:
    """Set bits of each element of a uint64 array."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0: a hardware popcount
        return np.bitwise_count(values)
    as_bytes = values.view(np.uint8).reshape(-1, 8)
    return _BYTE_POPCOUNT[as_bytes].sum(axis=1, dtype=np.uint8)


class NearDuplicateIndex:
    """In-memory multi-index over many 64-bit hashes (numpy).

    ``hashes`` is an array of uint64 (int64 is reinterpreted bit for bit);
    ``ids`` optional int64 identifiers reported instead of positions. Memory is
    about 8 + 6 x bands bytes per hash with 16-bit bands (about 320 MB for 10
    million hashes); the index is immutable (rebuild to add).
    """

    def __init__(
        self,
        hashes: np.ndarray | list[int],
        ids: np.ndarray | list[int] | None = None,
        scheme: BandScheme = BandScheme(),
    ) -> None:
        array = np.asarray(hashes)
        if array.dtype == np.int64:
            array = array.view(np.uint64)
        self._hashes = np.ascontiguousarray(array, dtype=np.uint64)
        self._ids = None if ids is None else np.asarray(ids, dtype=np.int64)
        if self._ids is not None and len(self._ids) != len(self._hashes):
            raise ValueError("ids and hashes differ in length")
        self.scheme = scheme
        band_dtype = np.uint8 if scheme.width <= 8 else np.uint16 if scheme.width <= 16 else np.uint32
        index_dtype = np.int32 if len(self._hashes) < 2**31 else np.int64
        self._sorted: list[np.ndarray] = []
        self._order: list[np.ndarray] = []
        mask = np.uint64((1 << scheme.width) - 1)
        for i in range(scheme.bands):
            shift = np.uint64(HASH_BITS - scheme.width * (i + 1))
            values = ((self._hashes >> shift) & mask).astype(band_dtype)
            order = np.argsort(values, kind="stable").astype(index_dtype)
            self._order.append(order)
            self._sorted.append(values[order])

    def __len__(self) -> int:
        return len(self._hashes)

    def _result(self, positions: np.ndarray, distances: np.ndarray) -> list[tuple[int, int]]:
        keys = positions if self._ids is None else self._ids[positions]
        ranking = np.lexsort((keys, distances))
        return [(int(keys[j]), int(distances[j])) for j in ranking]

    def search(self, h: int, max_distance: int) -> list[tuple[int, int]]:
        """All ``(id, distance)`` with ``hamming(stored, h) <= max_distance``,
        nearest first (ties by id). Exact for every ``max_distance``."""
        query = np.uint64(h & _MASK64)
        pieces = []
        for sorted_values, order, probes in zip(
            self._sorted, self._order, band_probes(h, max_distance, self.scheme), strict=True
        ):
            probe_array = np.asarray(probes, dtype=sorted_values.dtype)
            starts = np.searchsorted(sorted_values, probe_array, side="left")
            ends = np.searchsorted(sorted_values, probe_array, side="right")
            pieces.extend(order[s:e] for s, e in zip(starts, ends, strict=True) if e > s)
        if not pieces:
            return []
        candidates = np.unique(np.concatenate(pieces))
        distances = popcount64(self._hashes[candidates] ^ query)
        keep = distances <= max_distance
        return self._result(candidates[keep], distances[keep])

    def scan(self, h: int, max_distance: int) -> list[tuple[int, int]]:
        """Same answer as :meth:`search` by comparing with every stored hash
        (the baseline the benchmark measures the index against)."""
        distances = popcount64(self._hashes ^ np.uint64(h & _MASK64))
        positions = np.flatnonzero(distances <= max_distance)
        return self._result(positions, distances[positions])
