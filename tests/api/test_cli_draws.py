"""Offline audits: `spotcheck sample` and `spotcheck draw verify` on files a third party holds."""

from __future__ import annotations

import csv
import io
import json
from functools import partial

import anyio
import consistent_sampler
from click.testing import CliRunner

from api.cli import main
from sampling import derive_seed
from tests.support.api import add_user, demo_registry, login, seed_demo_registry
from tests.api.test_draws import OFFICE_PARAMS, plan_body


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def test_sample_is_rechecked_by_the_independent_consistent_sampler(tmp_path):
    ids = ["ab-1", "ab-2", "cd-1", "ef-3", "虎门-001", "长安-002", "x9"]
    population = tmp_path / "units.csv"
    population.write_text("code,name\n" + "".join(f"{i},单位\n" for i in ids), encoding="utf-8")
    result = cli("sample", str(population), "--seed", "314159", "--size", "5")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    ticket_seed = result.stderr.strip().removeprefix("ticket seed: ")
    assert ticket_seed == derive_seed("314159", "units")
    # Rivest's own package, given the recorded ticket seed, draws the same units in the same order.
    theirs = [(ticket, unit) for ticket, unit, _ in consistent_sampler.sampler(ids, seed=ticket_seed, take=5)]
    assert [(r["ticket"], r["code"]) for r in rows] == theirs
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4", "5"]
    # Quotas are checked as the API checks a plan's: a usage error, not an empty sample.
    for option, value in (("--size", "-1"), ("--rate", "-0.5"), ("--rate", "1.5")):
        refused = cli("sample", str(population), "--seed", "314159", option, value)
        assert refused.exit_code == 2 and f"bad {option}" in refused.output, refused.output


def test_sample_stratified_with_case_files(tmp_path):
    registry = demo_registry()
    units = tmp_path / "units.csv"
    with units.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, ["code", "kind", "risk_class"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows([u for u in registry.units if u["kind"] == "entity"])
    files = tmp_path / "files.csv"
    with files.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, ["code", "unit_code", "type"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(registry.case_files)
    args = ["sample", str(units), "--seed", "2026", "--stratify", "risk_class", "--size", "I=4,II=2,III=3"]
    first, second = cli(*args), cli(*args)
    assert first.exit_code == 0 and first.stdout == second.stdout
    strata = [r["stratum"] for r in csv.DictReader(io.StringIO(first.stdout))]
    assert sorted(strata) == sorted(["risk_class=I"] * 4 + ["risk_class=II"] * 2 + ["risk_class=III"] * 3)
    as_json = json.loads(cli(*args, "--format", "json").stdout)
    assert as_json["units"]["population_size"] == 601 and as_json["seed"]["seed"] == "2026"
    missing = cli("sample", str(units), "--seed", "1", "--stratify", "risk_class", "--size", "I=1")
    assert missing.exit_code == 1 and "II" in missing.output  # a stratum without a rule is named
    assert cli("sample", str(units), "--seed", "1", "--size", "2", "--files-per-unit", "2").exit_code == 2
    offices = tmp_path / "offices.csv"
    offices.write_text("code\n" + "\n".join(u["code"] for u in registry.units if u["parent_code"] == "DG") + "\n", encoding="utf-8")
    with_files = cli("sample", str(offices), "--seed", "7", "--size", "3", "--files-per-unit", "2", "--case-files", str(files))
    rows = list(csv.DictReader(io.StringIO(with_files.stdout)))
    assert len(rows) == 3 and all(len(r["case_files"].split("、")) == 2 for r in rows)


async def test_draw_verify_from_published_files(db, client, tmp_path):
    await seed_demo_registry(db)
    await add_user(db, "chief", "chief")
    chief = await login(client, "chief")
    plan = (await client.post("/api/v1/plans", json=plan_body(params=OFFICE_PARAMS), headers=chief)).json()
    drawn = (await client.post(f"/api/v1/plans/{plan['id']}/draw", json={"seed": "888888"}, headers=chief)).json()
    record = (await client.get(f"/api/v1/draws/{drawn['id']}", headers=chief)).json()
    inputs = (await client.get(f"/api/v1/draws/{drawn['id']}/inputs", headers=chief)).content
    (tmp_path / "draw.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "inputs.json").write_bytes(inputs)
    run = partial(anyio.to_thread.run_sync)
    ok = await run(partial(cli, "draw", "verify", str(tmp_path / "draw.json"), "--inputs", str(tmp_path / "inputs.json")))
    assert ok.exit_code == 0 and ok.output.startswith("MATCH") and "teams" in ok.output
    # A registry export checks the unit sample alone.
    export = tmp_path / "units.csv"
    with export.open("w", encoding="utf-8", newline="") as f:
        units = demo_registry().units
        writer = csv.DictWriter(f, list(units[0]))
        writer.writeheader()
        writer.writerows(units)
    units_only = await run(partial(cli, "draw", "verify", str(tmp_path / "draw.json"), "--population", str(export)))
    assert units_only.exit_code == 0 and "unit sample" in units_only.output, units_only.output
    # Someone swaps an inspector in the published record: the check names where.
    task = record["record"]["assignment"]["tasks"][0]
    task["team"] = ["insp99", task["team"][1]]
    (tmp_path / "forged.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    forged = await run(partial(cli, "draw", "verify", str(tmp_path / "forged.json"), "--inputs", str(tmp_path / "inputs.json")))
    assert forged.exit_code == 1 and "MISMATCH" in forged.output and "assignment.tasks[0].team[0]" in forged.output
    # Or changes the seed and digest in the summary readers trust, leaving the record alone.
    record = json.loads((tmp_path / "draw.json").read_text(encoding="utf-8"))
    record["draw"].update(seed="123456", population_digest="0" * 64)
    (tmp_path / "summary.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    summary = await run(partial(cli, "draw", "verify", str(tmp_path / "summary.json"), "--inputs", str(tmp_path / "inputs.json")))
    assert summary.exit_code == 1 and summary.output.startswith("MISMATCH: 2 difference(s)"), summary.output
    assert "draw.seed" in summary.output and "draw.population_digest" in summary.output
