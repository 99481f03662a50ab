"""Ticket algorithms: compatibility with consistent_sampler and numpy's Philox, and
agreement of the vectorized paths with the plain-Python reference."""

from __future__ import annotations

import random
import unicodedata

import numpy as np
import pytest
from consistent_sampler import sampler
from hypothesis import given, settings
from hypothesis import strategies as st

from sampling import CONSISTENT_SHA256, PHILOX_KEYED, InvalidParameters, draw_order
from sampling import reference as ref
from sampling.algorithms import ALGORITHMS
from sampling.idarray import as_id_array
from sampling.philox import philox4x64, philox_counters

from .helpers import ODD_IDS

# Canonical ids: printable, NFC, no surrounding whitespace, no control characters.
id_text = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=40
).map(lambda s: unicodedata.normalize("NFC", s).strip()).filter(bool)
id_lists = st.lists(id_text, min_size=1, max_size=30, unique=True)
seeds = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30).map(
    lambda s: unicodedata.normalize("NFC", s)
)
FAST = settings(derandomize=True, max_examples=60, deadline=None)


def test_docstring_example_of_consistent_sampler():
    order = draw_order(["ab-1", "ab-2", "cd-1", "ef-3"], "314159")
    assert [t.id for t in order] == ["cd-1", "ef-3", "ab-1", "ab-2"]
    assert [t.ticket for t in order] == ["0.317685817", "0.832984519", "0.9098039269", "0.9231549043"]


@FAST
@given(ids=id_lists, seed=seeds)
def test_consistent_sha256_equals_the_package(ids, seed):
    ours = [(t.ticket, t.id) for t in draw_order(ids, seed, CONSISTENT_SHA256)]
    theirs = [(ticket, i) for ticket, i, _ in sampler(ids, seed=seed)]
    assert ours == theirs


@FAST
@given(ids=id_lists, seed=seeds)
def test_both_algorithms_equal_the_reference(ids, seed):
    assert [(t.ticket, t.id) for t in draw_order(ids, seed, CONSISTENT_SHA256)] == ref.consistent_sha256_tickets(ids, seed)
    assert [(t.ticket, t.id) for t in draw_order(ids, seed, PHILOX_KEYED)] == ref.philox_keyed_tickets(ids, seed)


@pytest.mark.parametrize("name", [CONSISTENT_SHA256, PHILOX_KEYED])
def test_vectorized_primary_keys_follow_the_exact_order(name):
    algo = ALGORITHMS[name]
    rng = random.Random(7)
    ids = list(ODD_IDS) + [f"{rng.random():.12f}" for _ in range(3000)]
    seeds = ["s1", "种子-2", "000"]
    which = np.array([k % 3 for k in range(len(ids))])
    primary = algo.primary(as_id_array(ids), seeds, which)
    exact = algo.exact([i.encode() for i in ids], [seeds[w] for w in which])
    by_primary = sorted(range(len(ids)), key=lambda k: (int(primary[k]), exact[k]))
    assert by_primary == sorted(range(len(ids)), key=lambda k: exact[k])
    keys, shown = algo.tickets([i.encode() for i in ids], [seeds[w] for w in which])
    assert keys == primary.tolist()
    assert all(0 <= int(p) < algo.key_space for p in primary)


def test_philox_block_function_matches_numpy():
    rng = random.Random(11)
    for _ in range(50):
        key = [rng.getrandbits(64), rng.getrandbits(64)]
        counter = [rng.getrandbits(64) for _ in range(3)] + [rng.getrandbits(64)]
        counter[0] = rng.choice([counter[0], (1 << 64) - 1])  # include the carry case
        # uint64 arrays: numpy converts plain ints above 2^63 through float.
        bitgen = np.random.Philox(key=np.array(key, np.uint64), counter=np.array(counter, np.uint64))
        raw = bitgen.random_raw(4).tolist()
        # numpy increments the 256-bit counter before each block.
        value = sum(c << (64 * i) for i, c in enumerate(counter)) + 1
        bumped = [(value >> (64 * i)) & ((1 << 64) - 1) for i in range(4)]
        assert list(ref.philox4x64_10(bumped, key)) == raw
        words = philox4x64(np.array([bumped], np.uint64), key[0], key[1])
        assert [int(w[0]) for w in words] == raw


def test_philox_per_row_keys_equal_shared_key():
    rng = np.random.default_rng(3)
    counters = rng.integers(0, 2**63, (100, 4), dtype=np.uint64)
    shared = philox4x64(counters, 5, 9)
    per_row = philox4x64(counters, np.full(100, 5, np.uint64), np.full(100, 9, np.uint64))
    assert all(np.array_equal(a, b) for a, b in zip(shared, per_row))


def test_philox_counters_follow_the_spec():
    ids = ["ab-1", "é", "x" * 31, "y" * 32, "市场监管所" * 4]
    array = as_id_array(ids)
    rows = array.view(np.uint8).reshape(len(ids), -1)
    lengths = np.array([min(len(i.encode()), 31) for i in ids], np.uint8)
    long_ids = {k: i.encode() for k, i in enumerate(ids) if len(i.encode()) > 31}
    counters = philox_counters(rows, lengths, long_ids)
    assert [tuple(c) for c in counters.tolist()] == [ref.philox_counter(i) for i in ids]


def test_draw_order_refuses_repeated_ids_and_unknown_algorithms():
    with pytest.raises(InvalidParameters):
        draw_order(["a", "a"], "1")
    with pytest.raises(InvalidParameters):
        draw_order(["a"], "1", "mersenne")


def test_draw_order_is_subset_consistent():
    ids = [f"u{k}" for k in range(200)]
    for name in (CONSISTENT_SHA256, PHILOX_KEYED):
        whole = [t.id for t in draw_order(ids, "42", name)]
        part = set(ids[::3])
        assert [t.id for t in draw_order(sorted(part), "42", name)] == [i for i in whole if i in part]


@pytest.mark.parametrize("nines", [0, 1, 9, 10, 11, 18, 19, 20, 40])
def test_published_consistent_ticket_handles_long_runs_of_nines(nines):
    algo = ALGORITHMS[CONSISTENT_SHA256]
    h = int("12345678901234567890123456789" + "9" * nines)  # low decimal digits = ticket start
    digest = h.to_bytes(32, "big")
    (key,) = algo._keys_from_digests(digest).tolist()
    full = "0." + f"{h:064d}"[::-1]
    assert key == int(full[2:21])
    assert algo._shown(key, digest) == ref.trim(full)
