"""The two ticket algorithms: ``consistent-sha256`` and ``philox-keyed``.

Both give every id a ticket that depends only on the id and a seed; a draw takes the ids
with the smallest tickets, so a draw over a subset equals the whole draw filtered to that
subset. Each algorithm exposes two paths that must agree (tests check it against the
plain-Python reference in ``sampling.reference``):

- ``primary``: a vectorized uint64 key per id, monotone in the exact ticket order; equal
  keys are possible and are resolved by ``exact``;
- ``exact``: for a few ids, the full sort key (ties broken as specified) and the ticket
  string that is published.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache

import msgspec
import numpy as np

from .canonical import canonical_id
from .errors import InvalidParameters
from .idarray import byte_rows, row_lengths
from .philox import SHORT_ID_BYTES, philox4x64, philox_counters, philox_key, run_chunked
from .seeds import canonical_seed

__all__ = [
    "ALGORITHMS",
    "CONSISTENT_SHA256",
    "CONSISTENT_SHA256_VERSION",
    "PHILOX_KEYED",
    "PHILOX_KEYED_VERSION",
    "Algorithm",
    "Ticket",
    "consistent_trim",
    "draw_order",
    "exact_order",
    "get_algorithm",
    "rank_tickets",
]

CONSISTENT_SHA256 = "consistent-sha256"
CONSISTENT_SHA256_VERSION = 1
PHILOX_KEYED = "philox-keyed"
PHILOX_KEYED_VERSION = 1

# Digits of h mod 10^19 come from h mod 5^19 and h mod 2^19 (CRT): every step stays
# below 2^64, which a direct mod 10^19 of 16-bit limbs would not.
_P5 = 5**19
_P2 = 1 << 19
_INV5 = pow(_P5, -1, _P2)
_KEY_DIGITS = 19
_LIMB_WEIGHTS = np.array([pow(2, 16 * (15 - j), _P5) for j in range(16)], np.uint64)
_REVERSE4 = np.array([int(f"{v:04d}"[::-1]) for v in range(10_000)], np.uint64)
_REVERSE3 = np.array([int(f"{v:03d}"[::-1]) for v in range(1_000)], np.uint64)


class Ticket(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An id with its published ticket value (a decimal fraction in (0, 1) as a string)."""

    id: str
    ticket: str


def consistent_trim(x: str, digits: int = 9) -> str:
    """``consistent_sampler.trim``: keep ``digits`` digits after the leading run of 9s."""
    x0 = x + "0"
    first = len(x0) - len(x0[2:].lstrip("9"))  # position of the first digit below 9
    return x[: first + digits]


class Algorithm:
    """Internal interface of a ticket algorithm (see module docstring)."""

    name: str
    version: int
    key_space: int

    def primary(
        self, ids: np.ndarray, seeds: Sequence[str], seed_index: np.ndarray | None = None,
        workers: int | None = None,
    ) -> np.ndarray:
        raise NotImplementedError

    def exact(self, ids: Sequence[bytes], seeds: Sequence[str]) -> list[tuple]:
        """Exact sort keys (with the specified tie-break) of a few ids."""
        raise NotImplementedError

    def tickets(self, ids: Sequence[bytes], seeds: Sequence[str]) -> tuple[list[int], list[str]]:
        """Primary keys and published ticket strings of a batch of ids (one seed each)."""
        raise NotImplementedError


class ConsistentSha256(Algorithm):
    """Rivest's consistent sampling as in the ``consistent_sampler`` package (generation 1).

    ticket(id) = "0." + reversed(decimal, zero-padded to 64 digits, of the integer
    SHA-256(hex(SHA-256(seed)) + id)); order by ticket string, then id.
    """

    name = CONSISTENT_SHA256
    version = CONSISTENT_SHA256_VERSION
    key_space = 10**_KEY_DIGITS

    @staticmethod
    @lru_cache(maxsize=1 << 14)
    def _prefix(seed: str) -> bytes:
        return hashlib.sha256(seed.encode("utf-8")).hexdigest().encode("ascii")

    def _digests(self, ids: list[bytes], prefixes: list[bytes], which: list[int] | None) -> bytes:
        # The 64-byte prefix is exactly one SHA-256 block: hash it once per seed and copy
        # the state, so each id costs one compression instead of two.
        bases = [hashlib.sha256(p) for p in prefixes]
        out: list[bytes] = []
        append = out.append
        if which is None:
            copy = bases[0].copy
            for i in ids:
                h = copy()
                h.update(i)
                append(h.digest())
        else:
            for w, i in zip(which, ids):
                h = bases[w].copy()
                h.update(i)
                append(h.digest())
        return b"".join(out)

    @staticmethod
    def _keys_from_digests(buffer: bytes) -> np.ndarray:
        limbs = np.frombuffer(buffer, dtype=">u2").reshape(-1, 16).astype(np.uint64)
        # h mod 5^19 as two sums of eight limb * (2^(16 k) mod 5^19); each sum < 10^19.
        halves = [np.einsum("ij,j->i", limbs[:, lo : lo + 8], _LIMB_WEIGHTS[lo : lo + 8]) % np.uint64(_P5) for lo in (0, 8)]
        mod5 = (halves[0] + halves[1]) % np.uint64(_P5)
        mod2 = limbs[:, 15] | ((limbs[:, 14] & np.uint64(7)) << np.uint64(16))
        t = ((mod2 - mod5) * np.uint64(_INV5)) & np.uint64(_P2 - 1)
        rest = mod5 + np.uint64(_P5) * t  # = h mod 10^19
        # key = the 19 lowest decimal digits of h in reverse order: 4 digits at a time.
        key = np.zeros(len(limbs), np.uint64)
        for scale in (10**15, 10**11, 10**7, 10**3):
            rest, low = np.divmod(rest, np.uint64(10_000))
            key += _REVERSE4[low] * np.uint64(scale)
        return key + _REVERSE3[rest]

    def primary(self, ids, seeds, seed_index=None, workers=None):
        prefixes = [self._prefix(s) for s in seeds]
        out = np.empty(len(ids), np.uint64)

        def work(start: int, stop: int) -> None:
            which = None if seed_index is None else seed_index[start:stop].tolist()
            digests = self._digests(ids[start:stop].tolist(), prefixes, which)
            out[start:stop] = self._keys_from_digests(digests)

        # hashlib holds the GIL for short inputs: threads would only add overhead.
        run_chunked(len(ids), work, chunk=1 << 16, workers=1)
        return out

    @staticmethod
    def _full(digest: bytes) -> str:
        return "0." + f"{int.from_bytes(digest, 'big'):064d}"[::-1]

    def exact(self, ids, seeds):
        return [
            (self._full(hashlib.sha256(self._prefix(seed) + i).digest()), i.decode("utf-8"))
            for i, seed in zip(ids, seeds)
        ]

    def tickets(self, ids, seeds):
        if not ids:
            return [], []
        distinct = list(dict.fromkeys(seeds))
        position = {s: k for k, s in enumerate(distinct)}
        which = [position[s] for s in seeds] if len(distinct) > 1 else None
        buffer = self._digests(list(ids), [self._prefix(s) for s in distinct], which)
        keys = self._keys_from_digests(buffer).tolist()
        return keys, [self._shown(key, buffer[32 * k : 32 * k + 32]) for k, key in enumerate(keys)]

    @classmethod
    def _shown(cls, key: int, digest: bytes) -> str:
        """The published (trimmed) ticket, from the key's 19 digits when they suffice."""
        digits = f"{key:0{_KEY_DIGITS}d}"  # the first 19 digits of the ticket
        run = len(digits) - len(digits.lstrip("9"))
        if run + 9 <= _KEY_DIGITS:
            return "0." + digits[: run + 9]
        return consistent_trim(cls._full(digest))  # a long run of 9s needs more digits


class PhiloxKeyed(Algorithm):
    """Philox4x64-10 keyed by the seed, counter from the id; order by output words, then id."""

    name = PHILOX_KEYED
    version = PHILOX_KEYED_VERSION
    key_space = 1 << 64

    @staticmethod
    def _counters(ids: np.ndarray, start: int, stop: int) -> np.ndarray:
        rows = byte_rows(ids)[start:stop]
        lengths = row_lengths(rows)
        long_ids = {}
        if rows.shape[1] > SHORT_ID_BYTES:
            for r in np.flatnonzero(lengths > SHORT_ID_BYTES).tolist():
                long_ids[r] = bytes(ids[start + r])
            lengths = np.minimum(lengths, SHORT_ID_BYTES).astype(np.uint8)
        return philox_counters(rows, lengths, long_ids)

    def primary(self, ids, seeds, seed_index=None, workers=None):
        out = np.empty(len(ids), np.uint64)
        table = np.array([philox_key(s) for s in seeds], dtype=np.uint64).reshape(-1, 2)

        def work(start: int, stop: int) -> None:
            if seed_index is None:
                k0, k1 = int(table[0, 0]), int(table[0, 1])
            else:
                chosen = table[seed_index[start:stop]]
                k0, k1 = chosen[:, 0], chosen[:, 1]
            (out[start:stop],) = philox4x64(self._counters(ids, start, stop), k0, k1, words=1)

        run_chunked(len(ids), work, chunk=1 << 15, workers=workers)
        return out

    def _words(self, ids: Sequence[bytes], seeds: Sequence[str], words: int) -> list[list[int]]:
        if not ids:
            return []
        array = np.array(list(ids), dtype=f"S{max(len(i) for i in ids)}")
        distinct = {s: philox_key(s) for s in dict.fromkeys(seeds)}
        keys = np.array([distinct[s] for s in seeds], dtype=np.uint64).reshape(-1, 2)
        out = philox4x64(self._counters(array, 0, len(ids)), keys[:, 0], keys[:, 1], words=words)
        return np.stack(out, axis=1).tolist()

    def exact(self, ids, seeds):
        return [(*w, i) for w, i in zip(self._words(ids, seeds, 4), ids)]

    def tickets(self, ids, seeds):
        keys = [w[0] for w in self._words(ids, seeds, 1)]
        return keys, [f"0.{(k * 10**20) >> 64:020d}" for k in keys]


def rank_tickets(
    algorithm: Algorithm, ids: Sequence[bytes], seeds: Sequence[str], groups: Sequence[int] | None = None
) -> tuple[list[int], list[str]]:
    """Order a batch by (group, ticket) and return (order, published tickets).

    Sorting uses the primary keys, and the exact keys only if two of them are equal within
    a group, so the order is exact while the common case stays vectorized.
    """
    keys, shown = algorithm.tickets(ids, seeds)
    groups = [0] * len(ids) if groups is None else list(groups)
    pairs = list(zip(groups, keys))
    order = sorted(range(len(ids)), key=pairs.__getitem__)
    if len(set(pairs)) != len(pairs):
        exact = algorithm.exact(ids, seeds)
        order = sorted(order, key=lambda k: (groups[k], exact[k]))
    return order, shown


def exact_order(algorithm: Algorithm, ids: Sequence[bytes], seed: str) -> list[int]:
    """Indices of ``ids`` in draw order under ``seed``."""
    return rank_tickets(algorithm, ids, [seed] * len(ids))[0]


ALGORITHMS: dict[str, Algorithm] = {a.name: a for a in (ConsistentSha256(), PhiloxKeyed())}


def get_algorithm(name: str) -> Algorithm:
    """Return the algorithm called ``name`` or raise ``InvalidParameters``."""
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise InvalidParameters(
            f"unknown algorithm {name!r}; known: {', '.join(sorted(ALGORITHMS))}", algorithm=name
        ) from None


def draw_order(ids: Sequence[str | int], seed: str, algorithm: str = CONSISTENT_SHA256) -> list[Ticket]:
    """Return all ``ids`` in draw order under ``seed``, each with its ticket.

    Contract: ``seed`` is used as given (it is the *ticket* seed; ``run_draw`` passes derived
    seeds); ids are canonicalized and must be distinct. With ``consistent-sha256`` the
    result equals ``consistent_sampler.sampler(ids, seed=seed)``: same order, same ticket
    strings (9 digits after the leading 9s).
    """
    algo = get_algorithm(algorithm)
    seed = canonical_seed(seed)
    canonical = [canonical_id(i) for i in ids]
    if len(set(canonical)) != len(canonical):
        raise InvalidParameters("ids passed to draw_order must be distinct")
    order, shown = rank_tickets(algo, [c.encode("utf-8") for c in canonical], [seed] * len(canonical))
    return [Ticket(id=canonical[k], ticket=shown[k]) for k in order]

