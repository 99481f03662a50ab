"""64-bit DCT perceptual hash and Hamming distance.

The hash keeps the signs of the 8x8 lowest spatial frequencies of a 32x32
grayscale copy (relative to their median), which survive re-encoding, resizing,
mild colour changes and small crops, but differ between different scenes.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["HASH_BITS", "phash", "phash_pixels", "hamming"]

HASH_BITS = 64
_SIZE = 32
_LOW = 8


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    matrix = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    matrix[0] /= np.sqrt(2.0)
    return matrix


# Only the first 8 rows of the orthonormal DCT-II are needed: D8 @ X @ D8.T.
_DCT_LOW = _dct_matrix(_SIZE)[:_LOW]
_WEIGHTS = np.left_shift(np.uint64(1), np.arange(HASH_BITS - 1, -1, -1, dtype=np.uint64))


def phash_pixels(gray: np.ndarray) -> int:
    """pHash of a 32x32 float/uint8 grayscale array, as an unsigned 64-bit int.

    Bit 63 (the most significant) is frequency (0, 0), then row-major order.
    """
    if gray.shape != (_SIZE, _SIZE):
        raise ValueError(f"expected a {_SIZE}x{_SIZE} array, got {gray.shape}")
    low = _DCT_LOW @ gray.astype(np.float64) @ _DCT_LOW.T
    coefficients = low.ravel()
    # The DC term only measures brightness; leaving it out of the median keeps the
    # threshold about texture, as in the original pHash.
    bits = coefficients > np.median(coefficients[1:])
    return int(np.sum(_WEIGHTS[bits], dtype=np.uint64))


def phash(image: Image.Image) -> int:
    """pHash of a Pillow image, as an unsigned 64-bit int.

    The caller applies the EXIF orientation first: the hash is of what a viewer
    sees. Any mode is accepted; colour is reduced to luminance.
    """
    gray = image.convert("L").resize((_SIZE, _SIZE), Image.Resampling.BOX)
    return phash_pixels(np.asarray(gray))


def hamming(a: int, b: int) -> int:
    """Number of differing bits of two 64-bit hashes (signed or unsigned)."""
    return ((a ^ b) & 0xFFFF_FFFF_FFFF_FFFF).bit_count()
