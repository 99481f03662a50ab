"""Seeds: canonical form, commit-reveal, composition from public inputs, derivation."""

from __future__ import annotations

import hashlib

import msgspec
import pytest

from sampling import (
    InvalidSeed,
    SeedCommitmentMismatch,
    SeedPart,
    SeedRecord,
    compose_seed,
    derive_seed,
    seed_commitment,
    verify_seed,
)
from sampling import reference as ref


def test_commitment_is_sha256_hex_of_the_seed():
    assert seed_commitment("000") == hashlib.sha256(b"000").hexdigest()
    assert seed_commitment("双随机") == hashlib.sha256("双随机".encode()).hexdigest()


def test_commitment_uses_the_nfc_form():
    assert seed_commitment("e\u0301") == seed_commitment("\u00e9")


def test_verify_accepts_the_revealed_seed_and_upper_case_hex():
    verify_seed("31415926", seed_commitment("31415926"))
    verify_seed("31415926", seed_commitment("31415926").upper())


def test_verify_rejects_another_seed_loudly():
    with pytest.raises(SeedCommitmentMismatch) as info:
        verify_seed("31415927", seed_commitment("31415926"))
    assert info.value.code == "seed_commitment_mismatch"
    assert info.value.details["commitment"] == seed_commitment("31415926")


@pytest.mark.parametrize("commitment", ["", "abc", "g" * 64, seed_commitment("1")[:-1]])
def test_verify_rejects_malformed_commitments(commitment):
    with pytest.raises(InvalidSeed):
        verify_seed("1", commitment)


@pytest.mark.parametrize("seed", ["", "a\nb", "tab\there", "x" * 257, 314159])
def test_malformed_seeds_are_refused(seed):
    with pytest.raises(InvalidSeed):
        seed_commitment(seed)


def test_composed_seed_records_parts_as_given():
    parts = [SeedPart("witness 张三 (dice)", "3141"), SeedPart("witness 李四 (dice)", "5926")]
    record = compose_seed(parts, commitment=seed_commitment("3141|5926"))
    assert record.seed == "3141|5926"
    assert record.parts == tuple(parts)
    assert record.commitment == seed_commitment("3141|5926")
    assert msgspec.json.decode(msgspec.json.encode(record), type=SeedRecord) == record


def test_composed_seed_order_matters_and_commitment_is_checked():
    a, b = SeedPart("A", "1"), SeedPart("B", "2")
    assert compose_seed([a, b]).seed != compose_seed([b, a]).seed
    with pytest.raises(SeedCommitmentMismatch):
        compose_seed([b, a], commitment=seed_commitment("1|2"))


def test_composed_seed_refuses_separator_and_empty_list():
    with pytest.raises(InvalidSeed):
        compose_seed([SeedPart("A", "1|2")])
    with pytest.raises(InvalidSeed):
        compose_seed([])


def test_derived_seeds_follow_the_reference_and_differ_by_purpose():
    assert derive_seed("000", "units") == ref.derive_seed("000", "units")
    assert derive_seed("000", "case-files", "U1") == ref.derive_seed("000", "case-files", "U1")
    values = {derive_seed("000", p) for p in ("units", "case-files", "inspectors")}
    assert len(values) == 3


def test_derived_seed_cannot_be_computed_from_the_commitment():
    # The unit ticket seed must not be a function of SHA-256(seed) alone: the commitment
    # is public before the draw.
    seed = "4711"
    assert derive_seed(seed, "units") != hashlib.sha256(seed_commitment(seed).encode()).hexdigest()
    assert seed_commitment(seed) not in derive_seed(seed, "units")
