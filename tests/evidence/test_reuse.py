import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageEnhance

from evidence.analysis import analyze
from evidence.phash import hamming, phash
from evidence.reuse import (
    BandScheme,
    NearDuplicateIndex,
    band_probes,
    band_values,
    from_signed64,
    to_signed64,
)
from tests.evidence.images import encode, scene


def jpeg_phash(image: Image.Image, **options) -> int:
    return analyze(encode(image, "JPEG", **options)).phash


def test_phash_is_stable_under_reencoding_resizing_and_mild_edits():
    for seed in range(6):
        original = scene(seed, (1200, 900))
        reference = jpeg_phash(original, quality=95)
        variants = [
            jpeg_phash(original, quality=40),
            jpeg_phash(original.resize((600, 450), Image.Resampling.LANCZOS), quality=80),
            jpeg_phash(original.resize((300, 225)), quality=70),
            analyze(encode(original, "PNG")).phash,
            jpeg_phash(ImageEnhance.Brightness(original).enhance(1.15), quality=85),
            jpeg_phash(original.crop((12, 9, 1188, 891)), quality=85),
        ]
        distances = [hamming(reference, v) for v in variants]
        assert max(distances) <= 8, (seed, distances)


def test_phash_of_different_scenes_is_far_apart():
    hashes = [jpeg_phash(scene(seed, (640, 480)), quality=85) for seed in range(100, 130)]
    distances = [hamming(a, b) for a, b in itertools.combinations(hashes, 2)]
    assert min(distances) > 12, min(distances)
    assert 24 <= float(np.mean(distances)) <= 40


def test_phash_ignores_colour_depth_and_mode():
    image = scene(3, (400, 300))
    assert hamming(phash(image), phash(image.convert("L"))) <= 2
    assert 0 <= phash(image) < 1 << 64


def test_hamming_and_signed_storage():
    assert hamming(0, (1 << 64) - 1) == 64
    assert hamming(0b1011, 0b0001) == 2
    for h in (0, 1, (1 << 63) - 1, 1 << 63, (1 << 64) - 1):
        signed = to_signed64(h)
        assert -(1 << 63) <= signed < 1 << 63 and from_signed64(signed) == h
    assert hamming(to_signed64(1 << 63), 1 << 63) == 0


def test_band_values_reassemble_the_hash():
    h = 0x0123_4567_89AB_CDEF
    assert band_values(h) == (0x0123, 0x4567, 0x89AB, 0xCDEF)
    assert band_values(h, BandScheme(8)) == (0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF)
    with pytest.raises(ValueError):
        BandScheme(5)


def test_probe_counts_match_the_documented_guarantee():
    scheme = BandScheme(4)
    assert [len(p) for p in band_probes(0, 3)] == [1] * 4
    assert [len(p) for p in band_probes(0, 7)] == [17] * 4
    assert [len(p) for p in band_probes(0, 11)] == [137] * 4
    assert scheme.exact_up_to(scheme.probe_radius(7)) == 7


def _flip(h: int, bits) -> int:
    for bit in bits:
        h ^= 1 << bit
    return h


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, (1 << 64) - 1),
    st.integers(0, 12).flatmap(lambda d: st.sets(st.integers(0, 63), min_size=d, max_size=d)),
    st.sampled_from([2, 4, 8]),
)
def test_band_probes_find_every_hash_within_the_threshold(h, bits, bands):
    """The pigeonhole guarantee, checked the way a database would use it."""
    scheme = BandScheme(bands)
    stored = _flip(h, bits)
    # Two 32-bit bands need millions of probes beyond distance 5: a scheme nobody should pick.
    for max_distance in range(0, 6 if bands == 2 else 13):
        probes = band_probes(h, max_distance, scheme)
        found = any(v in probe for v, probe in zip(band_values(stored, scheme), probes, strict=True))
        if len(bits) <= max_distance:
            assert found, (len(bits), max_distance)


def test_numpy_index_agrees_with_a_full_scan():
    rng = np.random.default_rng(5)
    hashes = rng.integers(0, 1 << 63, 20_000, dtype=np.int64).view(np.uint64) * np.uint64(2) + np.uint64(1)
    queries = [int(hashes[i]) for i in rng.integers(0, len(hashes), 10)]
    near = _flip(queries[0], [0, 17, 33, 50, 63])
    hashes = np.append(hashes, np.uint64(near))
    ids = np.arange(len(hashes), dtype=np.int64) + 1000
    index = NearDuplicateIndex(hashes, ids)
    assert len(index) == len(hashes)
    for query in queries:
        for max_distance in (0, 5, 9):
            assert index.search(query, max_distance) == index.scan(query, max_distance)
    found = dict(index.search(queries[0], 6))
    assert found[1000 + len(hashes) - 1] == 5


def test_numpy_index_accepts_signed_database_values():
    values = [to_signed64(h) for h in (1 << 63, 5, (1 << 64) - 1)]
    index = NearDuplicateIndex(np.array(values, dtype=np.int64))
    assert index.search((1 << 64) - 1, 0) == [(2, 0)]
    assert index.search(1 << 63, 1) == [(0, 0)]
