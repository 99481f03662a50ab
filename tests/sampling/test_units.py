"""Stratified unit sampling: quotas, filters, determinism, reference agreement, uniformity."""

from __future__ import annotations

import random
from collections import Counter

import msgspec
import numpy as np
import pytest
from consistent_sampler import sampler
from hypothesis import given, settings
from hypothesis import strategies as st

from sampling import (
    CONSISTENT_SHA256,
    PHILOX_KEYED,
    InvalidParameters,
    Population,
    Quota,
    StratumRule,
    UnitSampling,
    derive_seed,
    sample_units,
    target,
)
from sampling import reference as ref
from sampling.select import bottom_k

from .helpers import RISK_CLASSES, unit_records

ALGOS = [CONSISTENT_SHA256, PHILOX_KEYED]
TICKETS = {CONSISTENT_SHA256: ref.consistent_sha256_tickets, PHILOX_KEYED: ref.philox_keyed_tickets}
RULES = (
    StratumRule(where={"risk_class": "I"}, rate=0.2, min=3),
    StratumRule(where={"risk_class": "II", "district": "南山"}, size=4, max=3),
    StratumRule(rate=0.05, max=6),
)
PARAMS = UnitSampling(stratify_by=("risk_class", "district"), rules=RULES)


def quota_dict(rule) -> dict:
    return {k: v for k, v in msgspec.structs.asdict(rule).items() if k != "where" and v is not None}


def reference_draw(records, seed, params, algorithm):
    units = {r["code"]: r for r in records}

    def quota_of(values):
        named = dict(zip(params.stratify_by, values))
        rule = next(r for r in params.rules if all(named[f] == v for f, v in r.where.items()))
        return quota_dict(rule)

    allowed = {f: set(v) for f, v in params.filter.items()}
    return ref.draw_units(units, seed, TICKETS[algorithm], params.stratify_by, quota_of, allowed)


@pytest.mark.parametrize("algorithm", ALGOS)
def test_quotas_are_honoured(algorithm):
    records = unit_records(2000, seed=1)
    result = sample_units(Population.from_records(records), PARAMS, "2718", algorithm)
    sizes = Counter((r["risk_class"], r["district"]) for r in records)
    for stratum in result.strata:
        n = sizes[stratum.values]
        assert stratum.population == n
        expected = target(PARAMS.rules[stratum.rule], n)
        if stratum.values[0] == "I":
            assert stratum.rule == 0 and expected == max(3, -(-n // 5))
        elif stratum.values == ("II", "南山"):
            assert stratum.rule == 1 and expected == 3
        else:
            assert stratum.rule == 2 and expected == min(6, -(-n * 5 // 100))
        assert stratum.target == stratum.selected == expected
        drawn = [u for u in result.units if u.stratum == stratum.index]
        assert [u.rank for u in drawn] == list(range(1, expected + 1))
    assert len(result.units) == sum(s.target for s in result.strata)
    assert [u.ticket for u in result.units] == sorted(u.ticket for u in result.units)


def test_rounding_rule():
    assert target(Quota(rate=0.05), 100) == 5
    assert target(Quota(rate=0.07), 100) == 7  # 0.07 * 100 is 7.000000000000001 in floats
    assert target(Quota(rate=0.05), 101) == 6
    assert target(Quota(rate=0.0), 100) == 0
    assert target(Quota(size=10, min=2), 4) == 4  # a small stratum is taken whole
    assert target(Quota(rate=0.01, min=2, max=3), 10_000) == 3


@pytest.mark.parametrize("algorithm", ALGOS)
def test_fast_path_equals_reference_on_random_cases(algorithm):
    for case in range(6):
        rng = random.Random(case)
        records = unit_records(rng.randrange(1, 400), seed=case)
        keep = tuple(rng.sample(RISK_CLASSES, 2))
        params = UnitSampling(
            stratify_by=("risk_class", "district")[: rng.randrange(3)],
            rules=(StratumRule(where={}, rate=rng.choice([0.01, 0.1, 0.5, 1.0]), min=rng.randrange(3)),),
            filter={"risk_class": keep} if case % 2 else {},
        )
        seed = f"{rng.getrandbits(40)}"
        result = sample_units(Population.from_records(records), params, seed, algorithm)
        expected = reference_draw(records, seed, params, algorithm)
        assert [(u.ticket, u.unit_id, result.strata[u.stratum].values) for u in result.units] == expected
        assert result.eligible_size == sum(1 for r in records if not params.filter or r["risk_class"] in keep)


def test_a_third_party_can_recheck_a_stratum_with_consistent_sampler():
    records = unit_records(500, seed=9)
    result = sample_units(Population.from_records(records), PARAMS, "000", CONSISTENT_SHA256)
    assert result.ticket_seed == derive_seed("000", "units")
    stratum = result.strata[0]
    members = [r["code"] for r in records if (r["risk_class"], r["district"]) == stratum.values]
    theirs = list(sampler(members, seed=result.ticket_seed, take=stratum.target))
    assert [(u.ticket, u.unit_id) for u in result.units if u.stratum == 0] == [(t, i) for t, i, _ in theirs]


@pytest.mark.parametrize("algorithm", ALGOS)
def test_same_seed_same_draw_shuffled_rows_same_draw(algorithm):
    records = unit_records(800, seed=2)
    first = sample_units(Population.from_records(records), PARAMS, "seed-1", algorithm)
    assert sample_units(Population.from_records(records), PARAMS, "seed-1", algorithm) == first
    shuffled = records[:]
    random.Random(3).shuffle(shuffled)
    assert sample_units(Population.from_records(shuffled), PARAMS, "seed-1", algorithm) == first
    other = sample_units(Population.from_records(records), PARAMS, "seed-2", algorithm)
    assert [u.unit_id for u in other.units] != [u.unit_id for u in first.units]


def test_filter_keeps_only_allowed_values():
    records = unit_records(600, seed=4)
    params = UnitSampling(rules=(StratumRule(rate=1.0),), filter={"district": ("南山",), "risk_class": ("I", "II")})
    result = sample_units(Population.from_records(records), params, "1")
    wanted = {r["code"] for r in records if r["district"] == "南山" and r["risk_class"] in ("I", "II")}
    assert {u.unit_id for u in result.units} == wanted


def test_parameter_errors_name_the_problem():
    population = Population.from_records(unit_records(50, seed=5))
    with pytest.raises(InvalidParameters, match="no rule matches stratum risk_class=III"):
        sample_units(population, UnitSampling(stratify_by=("risk_class",), rules=(
            StratumRule(where={"risk_class": "I"}, size=1), StratumRule(where={"risk_class": "II"}, size=1))), "1")
    with pytest.raises(InvalidParameters, match="no field 'credit'"):
        sample_units(population, UnitSampling(stratify_by=("credit",), rules=(StratumRule(size=1),)), "1")


def test_params_decode_strictly_from_json():
    body = b'{"stratify_by":["risk_class"],"rules":[{"where":{"risk_class":"I"},"rate":0.1,"min":2},{"size":5}]}'
    params = msgspec.json.decode(body, type=UnitSampling)
    assert params.rules[0].rate == 0.1
    for bad in (b'{"rules":[]}', b'{"rules":[{"size":-1}]}', b'{"rules":[{"rate":1.5}]}',
                b'{"rules":[{"size":1}],"colour":1}', b'{"rules":[{"size":1,"min":3,"max":2}]}',
                b'{"rules":[{"size":1}],"stratify_by":["Risk Class"]}'):
        with pytest.raises(msgspec.ValidationError):
            msgspec.json.decode(bad, type=UnitSampling)


def test_bottom_k_resolves_equal_primary_keys_exactly():
    rng = np.random.default_rng(1)
    primary = rng.integers(0, 5, 400).astype(np.uint64)  # many ties on purpose
    group = rng.integers(0, 4, 400)  # 3 groups, 3 marks "outside"
    exact_key = rng.permutation(400)

    def exact(rows):
        return [(int(primary[r]), int(exact_key[r])) for r in rows]

    rows, groups = bottom_k(primary, group, [10, 0, 7], key_space=5, exact=exact)
    for g, t in enumerate([10, 0, 7]):
        members = sorted((k for k in range(400) if group[k] == g), key=lambda k: exact([k])[0])
        assert rows[groups == g].tolist() == members[:t]


def test_bottom_k_falls_back_when_keys_are_not_uniform():
    primary = np.concatenate([np.full(50, 2**63, np.uint64), np.arange(50, dtype=np.uint64) + 2**63])
    group = np.zeros(100, np.int64)
    rows, _ = bottom_k(primary, group, [60], key_space=2**64, exact=lambda rows: [(int(primary[r]), int(r)) for r in rows])
    assert rows.tolist() == list(range(50)) + list(range(50, 60))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(1, 400), min_size=1, max_size=5), st.data())
def test_bottom_k_is_the_full_sort_whatever_the_group_sizes(seed, sizes, data):
    # Groups of very different sizes and targets get very different thresholds: the one
    # compare with the largest bound, then each group's own, must keep exactly the sort's pick.
    rng = np.random.default_rng(seed)
    group = np.repeat(np.arange(len(sizes) + 1), sizes + [data.draw(st.integers(0, 50))])
    rng.shuffle(group)
    primary = rng.integers(0, 2**64 - 1, len(group), dtype=np.uint64)
    targets = [data.draw(st.integers(0, n)) for n in sizes]
    exact = lambda rows: [(int(primary[r]), int(r)) for r in rows]  # noqa: E731
    rows, groups = bottom_k(primary, group, targets, key_space=2**64, exact=exact)
    for g, t in enumerate(targets):
        members = sorted(np.flatnonzero(group == g).tolist(), key=lambda k: exact([k])[0])
        assert rows[groups == g].tolist() == members[:t]
    assert len(rows) == sum(targets)


# Chi-square at alpha = 0.001: critical values of the chi-square distribution.
CHI2_CRITICAL_0_001 = {19: 43.820, 29: 58.301}


def corrected_chi_square(counts: list[int], draws: int, k: int) -> float:
    """Pearson's statistic rescaled for draws without replacement (counts are negatively
    correlated: each draw picks exactly k of n), which is chi-square with n - 1 df."""
    n = len(counts)
    p = k / n
    expected = draws * p
    pearson = sum((c - expected) ** 2 / expected for c in counts)
    return pearson / ((1 - p) * n / (n - 1))


@pytest.mark.parametrize("algorithm", ALGOS)
def test_every_unit_of_a_stratum_is_selected_uniformly(algorithm):
    # Deterministic seeds: the statistic is a fixed number, so this never flakes.
    records = [{"code": f"U{k:02d}", "risk_class": "I" if k < 20 else "II"} for k in range(50)]
    population = Population.from_records(records)
    params = UnitSampling(stratify_by=("risk_class",), rules=(
        StratumRule(where={"risk_class": "I"}, size=5), StratumRule(where={"risk_class": "II"}, size=8)))
    counts: Counter[str] = Counter()
    draws = 2000
    for s in range(draws):
        counts.update(u.unit_id for u in sample_units(population, params, f"chi-{s}", algorithm).units)
    first = [counts[f"U{k:02d}"] for k in range(20)]
    second = [counts[f"U{k:02d}"] for k in range(20, 50)]
    assert corrected_chi_square(first, draws, 5) < CHI2_CRITICAL_0_001[19]
    assert corrected_chi_square(second, draws, 8) < CHI2_CRITICAL_0_001[29]


@settings(derandomize=True, max_examples=25, deadline=None)
@given(st.integers(1, 120), st.integers(0, 120), st.sampled_from(ALGOS), st.integers(0, 10**9))
def test_bottom_k_of_one_stratum_is_a_prefix_of_the_draw_order(n, size, algorithm, seed):
    records = [{"code": f"u{k}"} for k in range(n)]
    result = sample_units(Population.from_records(records), UnitSampling(rules=(StratumRule(size=size),)), str(seed), algorithm)
    order = TICKETS[algorithm]([r["code"] for r in records], derive_seed(str(seed), "units"))
    assert [(u.ticket, u.unit_id) for u in result.units] == order[: min(size, n)]


def test_the_uniformity_check_rejects_a_biased_draw():
    draws = 2000
    always_first = [draws] * 5 + [0] * 15
    assert corrected_chi_square(always_first, draws, 5) > CHI2_CRITICAL_0_001[19]
    slightly_biased = [600] + [draws * 5 // 20] * 18 + [400]
    assert corrected_chi_square(slightly_biased, draws, 5) > CHI2_CRITICAL_0_001[19]
