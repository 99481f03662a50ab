"""Complete draws: determinism, order independence, verification, commit-reveal, snapshots."""

from __future__ import annotations

import random

import msgspec
import pytest
from consistent_sampler import sampler

from sampling import (
    CONSISTENT_SHA256,
    PHILOX_KEYED,
    AssignmentParams,
    CaseFile,
    Draw,
    DrawMismatch,
    DrawParams,
    InvalidParameters,
    Population,
    SeedCommitmentMismatch,
    SeedPart,
    compose_seed,
    run_draw,
    seed_commitment,
    verify_draw,
)
from sampling.draw import MAX_DIFFERENCES

from . import snapshot_inputs as S

ALGOS = [CONSISTENT_SHA256, PHILOX_KEYED]


@pytest.fixture(scope="module")
def inputs():
    return S.population(), S.case_files(), S.inspectors()


def draw(inputs, algorithm, seed="777", **changes):
    population, files, inspectors = inputs
    kwargs = {"case_files": files, "inspectors": inspectors, **changes}
    return run_draw(kwargs.pop("population", population), S.params(algorithm), seed, **kwargs)


@pytest.mark.parametrize("algorithm", ALGOS)
def test_same_seed_twice_gives_the_same_draw(inputs, algorithm):
    first = draw(inputs, algorithm)
    assert draw(inputs, algorithm) == first
    assert first.algorithm == algorithm and first.algorithm_version == 1
    assert first.units.algorithm == first.case_files.algorithm == first.assignment.algorithm == algorithm
    assert len(first.units.units) == sum(s.target for s in first.units.strata) > 0
    assert len(first.assignment.tasks) == 2 * len(first.units.units)
    assert verify_draw(first, inputs[0], case_files=inputs[1], inspectors=inputs[2]).ok


@pytest.mark.parametrize("algorithm", ALGOS)
def test_shuffled_inputs_give_the_same_draw(inputs, algorithm):
    rng = random.Random(1)
    records = S.records()
    rng.shuffle(records)
    files = {u: list(reversed(fs)) for u, fs in S.case_files().items()}
    roster = S.inspectors()
    rng.shuffle(roster)
    shuffled = run_draw(Population.from_records(records), S.params(algorithm), "777", case_files=files, inspectors=roster)
    assert shuffled == draw(inputs, algorithm)


@pytest.mark.parametrize("algorithm", ALGOS)
def test_changed_seed_fails_verification_loudly(inputs, algorithm):
    recorded = draw(inputs, algorithm)
    forged = msgspec.structs.replace(recorded, seed=msgspec.structs.replace(recorded.seed, seed="778"))
    result = verify_draw(forged, inputs[0], case_files=inputs[1], inspectors=inputs[2])
    assert not result.ok
    paths = [d.path for d in result.differences]
    assert "units.ticket_seed" in paths and any(p.startswith("units.units[") for p in paths)
    with pytest.raises(DrawMismatch) as info:
        verify_draw(forged, inputs[0], case_files=inputs[1], inspectors=inputs[2], strict=True)
    assert info.value.details["differences"]
    # Many differences: the first MAX_DIFFERENCES are listed, a last line counts the rest, and
    # total counts them all (not the lines).
    assert result.total > MAX_DIFFERENCES and len(result.differences) == MAX_DIFFERENCES + 1
    assert result.differences[-1].message == f"... and {result.total - MAX_DIFFERENCES} more differences"


@pytest.mark.parametrize("algorithm", ALGOS)
def test_changed_record_changes_the_digest_and_fails_verification(inputs, algorithm):
    recorded = draw(inputs, algorithm)
    records = S.records()
    records[17]["risk_class"] = "III" if records[17]["risk_class"] != "III" else "I"
    changed = Population.from_records(records)
    assert changed.digest(recorded.units.population_fields) != recorded.units.population_digest
    result = verify_draw(recorded, changed, case_files=inputs[1], inspectors=inputs[2])
    assert not result.ok
    first = result.differences[0]
    assert first.path == "units.population_digest" and "population differs" in first.message
    assert first.recorded == recorded.units.population_digest


def test_changed_grid_is_covered_by_the_digest(inputs):
    recorded = draw(inputs, CONSISTENT_SHA256)
    records = S.records()
    records[3]["grid"] = "网格99"
    result = verify_draw(recorded, Population.from_records(records), case_files=inputs[1], inspectors=inputs[2])
    assert result.differences[0].path == "units.population_digest"


def test_changed_roster_exclusions_or_files_are_named(inputs):
    recorded = draw(inputs, CONSISTENT_SHA256)
    population, files, roster = inputs
    unit = recorded.units.units[0].unit_id
    team = recorded.assignment.tasks[0].team
    result = verify_draw(recorded, population, case_files=files, inspectors=roster, conflicts=[(team[0], unit)])
    assert result.differences[0].path == "assignment.exclusions_digest"
    assert any(d.path.startswith("assignment.tasks[0]") for d in result.differences)
    result = verify_draw(recorded, population, case_files=files, inspectors=roster[1:])
    assert result.differences[0].path == "assignment.roster_digest"
    changed = dict(files)
    changed[unit] = [*files[unit], CaseFile("新增案卷", "registration")]
    result = verify_draw(recorded, population, case_files=changed, inspectors=roster)
    assert result.differences[0].path == "case_files.registry_digest"


def test_draw_record_round_trips_through_json_and_still_verifies(inputs):
    recorded = draw(inputs, PHILOX_KEYED)
    decoded = msgspec.json.decode(msgspec.json.encode(recorded), type=Draw)
    assert decoded == recorded
    assert verify_draw(decoded, inputs[0], case_files=inputs[1], inspectors=inputs[2]).ok
    with pytest.raises(AttributeError):
        recorded.units = None  # frozen


def test_commit_reveal(inputs):
    commitment = seed_commitment("3141|5926")
    composed = compose_seed([SeedPart("证人甲", "3141"), SeedPart("证人乙", "5926")])
    recorded = draw(inputs, CONSISTENT_SHA256, composed, commitment=commitment)
    assert recorded.seed.seed == "3141|5926" and recorded.seed.commitment == commitment
    assert recorded.seed.parts == composed.parts
    with pytest.raises(SeedCommitmentMismatch):
        draw(inputs, CONSISTENT_SHA256, "3141|5927", commitment=commitment)
    tampered = msgspec.structs.replace(recorded, seed=msgspec.structs.replace(recorded.seed, seed="9999|5926"))
    result = verify_draw(tampered, inputs[0], case_files=inputs[1], inspectors=inputs[2])
    assert not result.ok and "seed" in result.differences[0].message


def test_home_grid_rule_needs_the_grid_field(inputs):
    population = Population.from_records([{k: v for k, v in r.items() if k != "grid"} for r in S.records()])
    with pytest.raises(InvalidParameters, match="grid"):
        draw(inputs, CONSISTENT_SHA256, population=population)


def test_without_assignment_or_case_files():
    params = msgspec.structs.replace(S.params(CONSISTENT_SHA256), assignment=None, case_files=None)
    recorded = run_draw(S.population(), params, "1")
    assert recorded.assignment is None and recorded.case_files is None
    assert verify_draw(recorded, S.population()).ok


def test_params_embed_in_request_bodies():
    body = msgspec.json.encode(S.params(PHILOX_KEYED))
    assert msgspec.json.decode(body, type=DrawParams) == S.params(PHILOX_KEYED)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"units":{"rules":[{"size":1}]},"algorithm":"md5"}', type=DrawParams)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"units":{"rules":[{"size":1}]},"assignment":{"team_size":0}}', type=DrawParams)
    assert msgspec.json.decode(b'{"units":{"rules":[{"size":1}]}}', type=DrawParams).assignment == AssignmentParams()


PINNED_DIGEST = '3b4b1885e7a1f097d06ad48add5349cb07724f5bb4e95b88f66c3733f5f148c6'
PINNED = {
    ('consistent-sha256', '000'): {'units': [('91440300MA00000514', '0.000864104'), ('91440300MA00000344', '0.001030410'), ('91440300MA00000544', '0.001201048'), ('91440300MA00000062', '0.001627955'), ('91440300MA00000086', '0.004882227')], 'files': ('91440300MA00000514', [('案29-2', '0.731222413')]), 'team': ('91440300MA00000514', ('督察员03', '督察员08'))},
    ('consistent-sha256', '0042'): {'units': [('91440300MA00000114', '0.001226158'), ('91440300MA00000414', '0.001890568'), ('91440300MA00000361', '0.005932147'), ('91440300MA00000578', '0.006383061'), ('91440300MA00000460', '0.007873756')], 'files': ('91440300MA00000361', [('案70-3', '0.059497044'), ('案70-0', '0.732725945')]), 'team': ('91440300MA00000114', ('督察员06', '督察员22'))},
    ('consistent-sha256', '双随机一公开'): {'units': [('91440300MA00000196', '0.001948321'), ('91440300MA00000239', '0.002634886'), ('91440300MA00000207', '0.003908691'), ('91440300MA00000580', '0.004686765'), ('91440300MA00000153', '0.005513492')], 'files': ('91440300MA00000207', [('案13-1', '0.300893696'), ('案13-2', '0.356258214')]), 'team': ('91440300MA00000196', ('督察员00', '督察员21'))},
    ('philox-keyed', '000'): {'units': [('91440300MA00000452', '0.00161327768443201620'), ('91440300MA00000406', '0.00274250915915691731'), ('91440300MA00000511', '0.00422135267794925808'), ('91440300MA00000495', '0.00704151849783517713'), ('91440300MA00000105', '0.00885220277964357570')], 'files': ('91440300MA00000452', [('案64-0', '0.30821035805086465625'), ('案64-1', '0.98560208265488397446')]), 'team': ('91440300MA00000452', ('督察员08', '督察员21'))},
    ('philox-keyed', '0042'): {'units': [('91440300MA00000059', '0.00052126438063971491'), ('91440300MA00000058', '0.00247275103716837599'), ('91440300MA00000561', '0.00561807694374463203'), ('91440300MA00000388', '0.00751410474687822237'), ('91440300MA00000549', '0.00969108530495886794')], 'files': ('91440300MA00000059', [('案59-2', '0.15341120115294299010'), ('案59-1', '0.66916946995117285043')]), 'team': ('91440300MA00000059', ('督察员04', '督察员21'))},
    ('philox-keyed', '双随机一公开'): {'units': [('91440300MA00000211', '0.00006812262276434703'), ('91440300MA00000216', '0.00296227996175113089'), ('91440300MA00000551', '0.00363083393807666276'), ('91440300MA00000432', '0.00473392268992710324'), ('91440300MA00000451', '0.00521305413639140034')], 'files': ('91440300MA00000216', [('案22-1', '0.00550701688987591779'), ('案22-4', '0.08569805359418529357')]), 'team': ('91440300MA00000211', ('督察员17', '督察员21'))},
}


@pytest.mark.parametrize(("algorithm", "seed"), list(PINNED))
def test_pinned_draws(inputs, algorithm, seed):
    """Any change here changes published draws: bump the algorithm version instead."""
    recorded = draw(inputs, algorithm, seed)
    assert recorded.units.population_digest == PINNED_DIGEST
    pinned = PINNED[(algorithm, seed)]
    assert [(u.unit_id, u.ticket) for u in recorded.units.units[:5]] == pinned["units"]
    files = next(c for c in recorded.case_files.units if c.files)
    assert (files.unit_id, [(f.file_id, f.ticket) for f in files.files]) == pinned["files"]
    assert (recorded.assignment.tasks[0].unit_id, recorded.assignment.tasks[0].team) == pinned["team"]


@pytest.mark.parametrize("seed", ["000", "0042", "双随机一公开"])
def test_pinned_consistent_draws_agree_with_the_package(inputs, seed):
    recorded = draw(inputs, CONSISTENT_SHA256, seed)
    for stratum in recorded.units.strata:
        members = [r["code"] for r in S.records() if r["risk_class"] == stratum.values[0]]
        theirs = [(t, i) for t, i, _ in sampler(members, seed=recorded.units.ticket_seed, take=stratum.target)]
        assert [(u.ticket, u.unit_id) for u in recorded.units.units if u.stratum == stratum.index] == theirs


def test_unit_sample_alone_verifies_with_the_recorded_fields():
    """An auditor with only the population re-checks the units, grid field included."""
    from sampling import Inspector, StratumRule, UnitSampling, verify_unit_sample

    ids = [f"u{i:03d}" for i in range(60)]
    grids = [f"G{i % 6}" for i in range(60)]
    population = Population.from_columns(ids, {"grid": grids, "risk_class": ["I", "II", "III"] * 20})
    roster = [Inspector(inspector_id=f"i{k}", qualifications=frozenset({"field_visit"}), home_grid=f"G{k % 6}") for k in range(12)]
    params = DrawParams(units=UnitSampling(rules=(StratumRule(size=3),), stratify_by=("risk_class",)))
    draw = run_draw(population, params, "2026", inspectors=roster)
    assert "grid" in draw.units.population_fields
    assert verify_unit_sample(draw, population).ok
    changed = Population.from_columns(ids, {"grid": grids[:-1] + ["G9"], "risk_class": ["I", "II", "III"] * 20})
    result = verify_unit_sample(draw, changed)
    assert not result.ok and result.differences[0].path == "units.population_digest"
