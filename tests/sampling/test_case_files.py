"""Case files within selected units: quotas per unit or per type, own derived seed."""

from __future__ import annotations

from collections import Counter

import pytest
from consistent_sampler import sampler

from sampling import (
    CONSISTENT_SHA256,
    PHILOX_KEYED,
    CaseFile,
    CaseFileSampling,
    InvalidPopulation,
    Quota,
    derive_seed,
    sample_case_files,
    target,
)
from sampling import reference as ref

from .helpers import case_files, unit_records

TICKETS = {CONSISTENT_SHA256: ref.consistent_sha256_tickets, PHILOX_KEYED: ref.philox_keyed_tickets}
PER_TYPE = CaseFileSampling(per_type={
    "registration": Quota(size=2), "enforcement": Quota(rate=0.5, min=1), "complaint": Quota(rate=0.34, max=1),
})


@pytest.mark.parametrize("algorithm", [CONSISTENT_SHA256, PHILOX_KEYED])
@pytest.mark.parametrize("params", [PER_TYPE, CaseFileSampling(per_unit=Quota(rate=0.3, min=1))])
def test_case_files_equal_reference_and_honour_quotas(algorithm, params):
    records = unit_records(120, seed=1)
    files = case_files(records, seed=2, most=15)
    units = [r["code"] for r in records[::3]]
    result = sample_case_files(units, files, params, "seed", algorithm)
    assert [u.unit_id for u in result.units] == units
    for unit in result.units:
        mine = {f.file_id: f.file_type for f in files[unit.unit_id]}
        assert unit.available == len(mine)
        assert unit.ticket_seed == derive_seed("seed", "case-files", unit.unit_id)
        if params.per_unit is not None:
            quota_of = lambda _t: {"rate": 0.3, "min": 1}  # noqa: E731
            expected = ref.draw_case_files({f: "all" for f in mine}, "seed", unit.unit_id, TICKETS[algorithm], quota_of)
            assert len(unit.files) == target(params.per_unit, len(mine))
        else:
            quota = {t: {k: v for k, v in vars_of(q).items() if v is not None} for t, q in params.per_type.items()}
            expected = ref.draw_case_files(mine, "seed", unit.unit_id, TICKETS[algorithm], quota.get)
            counts = Counter(mine.values())
            drawn = Counter(f.file_type for f in unit.files)
            for file_type, quota_ in params.per_type.items():
                assert drawn[file_type] == target(quota_, counts[file_type])
            assert drawn["other"] == 0
        assert [(f.ticket, f.file_id) for f in unit.files] == expected


def vars_of(quota: Quota) -> dict:
    return {"size": quota.size, "rate": quota.rate, "min": quota.min, "max": quota.max}


def test_one_unit_can_be_rechecked_with_consistent_sampler():
    files = {"U1": [CaseFile(f"案卷-{k}", "enforcement") for k in range(30)]}
    result = sample_case_files(["U1"], files, CaseFileSampling(per_unit=Quota(size=4)), "000")
    unit = result.units[0]
    theirs = list(sampler([f.file_id for f in files["U1"]], seed=unit.ticket_seed, take=4))
    assert [(f.ticket, f.file_id) for f in unit.files] == [(t, i) for t, i, _ in theirs]


def test_file_order_and_unknown_units_do_not_matter():
    files = case_files(unit_records(30, seed=3), seed=4)
    reversed_files = {u: list(reversed(fs)) for u, fs in reversed(list(files.items()))}
    units = list(files)[:10] + ["not-in-registry"]
    a = sample_case_files(units, files, PER_TYPE, "x")
    b = sample_case_files(units, reversed_files, PER_TYPE, "x")
    assert a == b
    assert a.units[-1].available == 0 and a.units[-1].files == ()


def test_registry_digest_changes_with_a_file():
    files = case_files(unit_records(30, seed=3), seed=4, most=5)
    units = [u for u, fs in files.items() if fs][:5]
    before = sample_case_files(units, files, PER_TYPE, "x").registry_digest
    changed = dict(files)
    first = changed[units[0]][0]
    changed[units[0]] = [CaseFile(first.file_id, "other" if first.file_type != "other" else "complaint")] + changed[units[0]][1:]
    assert sample_case_files(units, changed, PER_TYPE, "x").registry_digest != before


def test_bad_case_files_are_refused():
    with pytest.raises(InvalidPopulation, match="twice"):
        sample_case_files(["U"], {"U": [CaseFile("a"), CaseFile("a")]}, PER_TYPE, "x")
    with pytest.raises(InvalidPopulation, match="unknown type"):
        sample_case_files(["U"], {"U": [CaseFile("a", "memo")]}, PER_TYPE, "x")
