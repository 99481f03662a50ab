"""Philox4x64-10 (Salmon et al., Random123), vectorized with numpy.

numpy has no 64x64->128-bit multiply, so the high word is assembled from 32-bit halves
(Hacker's Delight ``mulhu``); every intermediate fits in uint64. The result is
bit-identical to ``numpy.random.Philox`` for the same key and counter, which a test
checks; we never use numpy's generator itself because its stream is not a protocol.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = [
    "KEY_LABEL",
    "philox4x64",
    "philox_counters",
    "philox_key",
    "run_chunked",
]

M0 = 0xD2E7470EE14C6C93
M1 = 0xCA5A826395121157
W0 = 0x9E3779B97F4A7C15
W1 = 0xBB67AE8584CAA73B
ROUNDS = 10
U64 = (1 << 64) - 1

KEY_LABEL = b"spotcheck/philox-keyed/1\n"
SHORT_ID_BYTES = 31
LONG_ID_FLAG = 0xFF

_LO32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)


def philox_key(seed: str) -> tuple[int, int]:
    """Return the Philox key of a (canonical) seed.

    ``d = SHA-256(b"spotcheck/philox-keyed/1\\n" + UTF-8(seed))``; the key words are
    ``d[0:8]`` and ``d[8:16]`` read as little-endian unsigned 64-bit integers.
    """
    digest = hashlib.sha256(KEY_LABEL + seed.encode("utf-8")).digest()
    return int.from_bytes(digest[0:8], "little"), int.from_bytes(digest[8:16], "little")


def philox_counters(rows: np.ndarray, lengths: np.ndarray, long_ids: dict[int, bytes]) -> np.ndarray:
    """Return the (n, 4) uint64 counters of ids given as zero-padded UTF-8 byte rows.

    Counter bytes of an id of L <= 31 bytes: the id, zero-padded to 31 bytes, then one
    byte L; of a longer id: the first 31 bytes of SHA-256(id), then 0xFF. The 32 bytes are
    read as four little-endian uint64 words. ``long_ids`` maps row index -> full id bytes
    for rows whose id is longer than 31 bytes (their row content is ignored).
    """
    n, width = rows.shape
    raw = np.zeros((n, 32), dtype=np.uint8)
    raw[:, : min(width, SHORT_ID_BYTES)] = rows[:, :SHORT_ID_BYTES]
    raw[:, SHORT_ID_BYTES] = lengths
    for row, full in long_ids.items():
        raw[row, :SHORT_ID_BYTES] = np.frombuffer(hashlib.sha256(full).digest()[:SHORT_ID_BYTES], np.uint8)
        raw[row, SHORT_ID_BYTES] = LONG_ID_FLAG
    return raw.view("<u8").astype(np.uint64, copy=False)


def _mulhi(x: np.ndarray, m: int, xl: np.ndarray, xh: np.ndarray, t: np.ndarray, out: np.ndarray) -> None:
    ml = np.uint64(m & 0xFFFFFFFF)
    mh = np.uint64(m >> 32)
    np.bitwise_and(x, _LO32, out=xl)
    np.right_shift(x, _S32, out=xh)
    # t = xh*ml + (xl*ml >> 32) cannot overflow: (2^32-1)^2 + 2^32 - 1 < 2^64.
    np.multiply(xl, ml, out=t)
    np.right_shift(t, _S32, out=t)
    np.multiply(xh, ml, out=out)
    np.add(t, out, out=t)
    np.multiply(xh, mh, out=out)  # out = xh*mh
    np.multiply(xl, mh, out=xl)  # xl*mh; xl is no longer needed
    np.right_shift(t, _S32, out=xh)  # carry word of t
    np.add(out, xh, out=out)
    np.bitwise_and(t, _LO32, out=t)
    np.add(xl, t, out=xl)
    np.right_shift(xl, _S32, out=xl)
    np.add(out, xl, out=out)


def _round_keys(k: int | np.ndarray, bump: int) -> list:
    # Python ints for a shared key (numpy scalars warn on the intended wrap-around),
    # uint64 arrays, which wrap silently, for per-row keys.
    if isinstance(k, np.ndarray):
        k = k.astype(np.uint64)
        keys = [k]
        for _ in range(ROUNDS - 1):
            keys.append(keys[-1] + np.uint64(bump))
        return keys
    return [np.uint64((k + r * bump) & U64) for r in range(ROUNDS)]


def philox4x64(
    counters: np.ndarray, key0: int | np.ndarray, key1: int | np.ndarray, words: int = 4
) -> tuple[np.ndarray, ...]:
    """Return the first ``words`` output words of Philox4x64-10 for each counter row.

    ``counters`` is (n, 4) uint64; keys are integers (one key for all rows) or uint64
    arrays of length n (one key per row). Output word i equals word i of
    ``philox4x64_10(counter, key)`` in docs/sampling.md.
    """
    x0, x1, x2, x3 = (np.array(counters[:, i], dtype=np.uint64) for i in range(4))
    keys0, keys1 = _round_keys(key0, W0), _round_keys(key1, W1)
    n = len(x0)
    xl, xh, t, h0, h1 = (np.empty(n, np.uint64) for _ in range(5))
    m0, m1 = np.uint64(M0), np.uint64(M1)
    for r in range(ROUNDS):
        k0, k1 = keys0[r], keys1[r]
        _mulhi(x2, M1, xl, xh, t, h1)
        if r == ROUNDS - 1 and words == 1:
            np.bitwise_xor(h1, x1, out=h1)
            return (np.bitwise_xor(h1, k0, out=h1),)
        _mulhi(x0, M0, xl, xh, t, h0)
        np.multiply(x0, m0, out=x0)
        np.multiply(x2, m1, out=x2)
        np.bitwise_xor(h1, x1, out=h1)
        np.bitwise_xor(h1, k0, out=h1)
        np.bitwise_xor(h0, x3, out=h0)
        np.bitwise_xor(h0, k1, out=h0)
        # new state (h1^x1^k0, lo1, h0^x3^k1, lo0); the old x1, x3 become scratch.
        x0, x1, x2, x3, h0, h1 = h1, x2, h0, x0, x1, x3
    return (x0, x1, x2, x3)[:words]


def run_chunked(n: int, work: Callable[[int, int], None], chunk: int = 1 << 16, workers: int | None = None) -> None:
    """Call ``work(start, stop)`` over ``range(n)`` in chunks, on up to ``workers`` threads.

    Chunks keep the working set in cache; numpy releases the GIL inside ufuncs, so threads
    run in parallel. Results must not depend on scheduling: ``work`` writes only its slice.
    """
    starts = range(0, n, chunk)
    if workers is None:
        workers = min(4, os.cpu_count() or 1)
    if workers <= 1 or n <= chunk:
        for start in starts:
            work(start, min(start + chunk, n))
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(work, s, min(s + chunk, n)) for s in starts]:
            future.result()
