import pytest
from hypothesis import given
from hypothesis import strategies as st

from evidence.sweep import sweepable

A, B, C, D = ("a" * 64, "b" * 64, "c" * 64, "d" * 64)
NOW = 1_800_000_000.0
DAY = 86_400.0


def test_only_old_uncited_blobs_are_swept_in_input_order():
    stored = [(A, NOW - 2 * DAY), (B, NOW - 2 * DAY), (C, NOW - DAY + 1), (D, NOW - DAY)]
    assert sweepable(stored, {B}, now=NOW, older_than=DAY) == [A, D]  # D exactly at the limit counts as old


def test_a_blob_from_the_future_is_young():
    # The clock stepped back after it was written: never guess it is old.
    assert sweepable([(A, NOW + 3600)], set(), now=NOW, older_than=DAY) == []


def test_a_negative_age_is_refused():
    with pytest.raises(ValueError):
        sweepable([(A, NOW)], set(), now=NOW, older_than=-1)


@given(st.dictionaries(st.sampled_from([A, B, C, D]), st.floats(NOW - 10 * DAY, NOW + DAY)),
       st.sets(st.sampled_from([A, B, C, D])), st.floats(0, 5 * DAY))
def test_exactly_the_old_uncited_blobs_are_swept(stored, cited, older_than):
    swept = sweepable(list(stored.items()), cited, now=NOW, older_than=older_than)
    assert set(swept) == {sha for sha, at in stored.items() if sha not in cited and NOW - at >= older_than}
    assert len(swept) == len(set(swept))
