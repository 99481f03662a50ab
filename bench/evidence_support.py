"""What the evidence benchmarks share: a 12-megapixel test photo, timers and printing, and the
plain write + fsync that every storage figure is measured against."""

from __future__ import annotations

import io
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["line", "photo_12mp", "timed", "write_plain"]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall-clock milliseconds of ``repeat`` calls (after one warm-up call)."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def line(label: str, samples: list[float], unit: str = "ms") -> None:
    print(f"  {label:<52} median {statistics.median(samples):8.2f} {unit}   min {min(samples):8.2f} {unit}")


def photo_12mp(seed: int = 1) -> bytes:
    """A 4000x3000 photo-like JPEG of about 3 MB with camera EXIF and GPS."""
    rng = np.random.default_rng(seed)
    base = Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)).resize((4000, 3000), Image.BICUBIC)
    noise = rng.normal(0, 5, (3000, 4000, 3)).astype(np.float32)
    pixels = np.clip(np.asarray(base, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Xiaomi", "Mi 11", 6
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 09:30:15"
    exif.get_ifd(0x8769)[0x9011] = "+08:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (31.0, 13.0, 49.44), "E", (121.0, 28.0, 25.32)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def write_plain(path: Path, blob: bytes, chunk: int, rename_to: Path | None = None) -> float:
    """Seconds to write ``blob`` to a new file in ``chunk``-sized writes and fsync it (then,
    with ``rename_to``, rename it and fsync the folder): the physical limit of storing it."""
    start = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    view = memoryview(blob)
    for offset in range(0, len(blob), chunk):
        os.write(fd, view[offset : offset + chunk])
    os.fsync(fd)
    os.close(fd)
    if rename_to is not None:
        os.rename(path, rename_to)
        folder = os.open(rename_to.parent, os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(folder)
        os.close(folder)
    return time.perf_counter() - start
