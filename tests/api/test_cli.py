"""The spotcheck console command against a real database."""

from __future__ import annotations

from functools import partial

import anyio
import pytest
from click.testing import CliRunner

from api.cli import main


@pytest.fixture
def env(settings, client):
    # `client` empties the database first; the CLI then works on the same one.
    return {"SPOTCHECK_DATABASE_URL": settings.database_url, "SPOTCHECK_DATA_DIR": settings.data_dir,
            "SPOTCHECK_SECRET_KEY": settings.secret_key}


async def run(env, *args, stdin=None):
    # The CLI owns its event loop (asyncio.run), so it runs beside the test's loop.
    return await anyio.to_thread.run_sync(partial(CliRunner().invoke, main, list(args), env=env, input=stdin))


async def test_demo_loads_once_and_its_accounts_log_in(env, client):
    first = await run(env, "demo", "--if-empty")
    assert first.exit_code == 0, first.output
    lines = [l.split() for l in first.output.splitlines() if l.startswith("  ")]
    roles = [l[0] for l in lines]
    assert roles == ["admin", "chief", "chief", "inspector", "inspector", "unit"]
    second = await run(env, "demo", "--if-empty")
    assert second.exit_code == 0 and "already present" in second.output
    assert (await run(env, "demo")).exit_code == 1
    for role, username, password, *_ in lines:
        r = await client.post("/api/v1/auth/token", json={"username": username, "password": password})
        assert r.status_code == 200 and r.json()["role"] == role
    token = (await client.post("/api/v1/auth/token", json={"username": lines[1][1], "password": lines[1][2]})).json()["access_token"]
    chief = {"Authorization": f"Bearer {token}"}
    units = (await client.get("/api/v1/units?kind=office&parent_code=DG", headers=chief)).json()
    assert units["total"] == 33
    # The scoring demo: shipped catalogs, the branch-office scheme, an open period with data.
    assert {c["code"] for c in (await client.get("/api/v1/catalogs", headers=chief)).json()["items"]} == {
        "dongguan_branch_2010", "office_deductions"}
    period = (await client.get("/api/v1/periods/2026-H2", headers=chief)).json()
    assert (period["status"], period["catalog_code"], period["scheme_code"]) == ("open", "dongguan_branch_2010", "branch_annual")
    assert (await client.get("/api/v1/periods/2026-H2/measurements", headers=chief)).json()["total"] == 99
    provisional = (await client.get("/api/v1/leaderboard?period=2026-H2&basis=provisional", headers=chief)).json()
    confirmed = (await client.get("/api/v1/leaderboard?period=2026-H2", headers=chief)).json()
    assert provisional["total"] == confirmed["total"] == 33
    assert sum(r["total"] for r in provisional["items"]) != sum(r["total"] for r in confirmed["items"])
    assert any(r["warning_level"] for r in confirmed["items"])
    # The field demo: three submitted visits whose deductions wait for review, one citing a
    # photo re-filed from another visit (flagged reused and far from its unit), first in the queue.
    queue = (await client.get("/api/v1/reviews?period=2026-H2", headers=chief)).json()["items"]
    assert len(queue) == 11 and sum(1 for i in queue if i["finding"]) == 3
    first = queue[0]
    assert (first["unit_code"], first["flags"]) == ("DG-HUMEN", ["far_from_unit", "reused_exact"])
    reused = next(e for e in first["evidence"] if e["flags"])
    original = next(f for f in reused["flags"] if f["code"] == "reused_exact")["evidence_ids"][0]
    assert original not in {e["id"] for e in first["evidence"] if not e["flags"]}
    assert all(not e["flags"] for i in queue[1:] for e in i["evidence"])
    submitted = (await client.get("/api/v1/tasks?status=submitted", headers=chief)).json()["items"]
    assert sorted(t["unit_code"] for t in submitted) == ["DG-CHANGAN-020", "DG-HOUJIE-023", "DG-HUMEN-018"]


async def test_users_add_and_set_password(env, client):
    assert (await run(env, "users", "add", "boss", "--role", "chief", "--password-stdin", stdin="s3cret-password\n")).exit_code == 0
    assert (await client.post("/api/v1/auth/token", json={"username": "boss", "password": "s3cret-password"})).status_code == 200
    dup = await run(env, "users", "add", "boss", "--role", "chief", "--password-stdin", stdin="s3cret-password\n")
    assert dup.exit_code == 1 and "taken" in dup.output
    unbound = await run(env, "users", "add", "u1", "--role", "unit", "--password-stdin", stdin="s3cret-password\n")
    assert unbound.exit_code == 1 and "unit_code" in unbound.output
    short = await run(env, "users", "add", "x", "--role", "admin", "--password-stdin", stdin="short\n")
    assert short.exit_code == 1
    # The owner locked themselves out; a reset is how they get back in at once.
    for _ in range(6):
        await client.post("/api/v1/auth/token", json={"username": "boss", "password": "wrong-password"})
    assert (await client.post("/api/v1/auth/token", json={"username": "boss", "password": "s3cret-password"})).status_code == 429
    assert (await run(env, "users", "set-password", "boss", "--password-stdin", stdin="another-password\n")).exit_code == 0
    assert (await client.post("/api/v1/auth/token", json={"username": "boss", "password": "another-password"})).status_code == 200
    assert (await client.post("/api/v1/auth/token", json={"username": "boss", "password": "s3cret-password"})).status_code == 401
    # A password no login would take is refused, as by the API.
    too_long = await run(env, "users", "set-password", "boss", "--password-stdin", stdin="x" * 300 + "\n")
    assert too_long.exit_code == 1 and "invalid password" in too_long.output


async def test_import_reports_bad_rows_and_exits_nonzero(env, client, tmp_path):
    good = tmp_path / "units.csv"
    good.write_text("code,name,kind,parent_code\nP,总局,office,\nC,分局,office,P\n", encoding="utf-8")
    ok = await run(env, "import", "units", str(good))
    assert ok.exit_code == 0 and "2 created" in ok.output
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,kind\nX,,office\nY,y,shop\n", encoding="utf-8")
    result = await run(env, "import", "units", str(bad))
    assert result.exit_code == 1
    assert "row 2, column name" in result.output and "row 3, column kind" in result.output
    assert "nothing was imported" in result.output


def test_settings_errors_are_clean(tmp_path):
    result = CliRunner().invoke(main, ["migrate"], env={"SPOTCHECK_ENV": "production", "SPOTCHECK_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1 and "SPOTCHECK_SECRET_KEY is required" in result.output


async def test_catalog_load_detects_the_kind_and_reports_the_bad_node(env, client, tmp_path):
    from tests.support.scoring import SHIPPED

    empty = await run(env, "catalog", "list")
    assert empty.exit_code == 0 and "no catalog or scheme" in empty.output
    catalog = await run(env, "catalog", "load", str(SHIPPED / "office_deductions.catalog.yaml"))
    assert catalog.exit_code == 0 and "catalog office_deductions version 1 loaded" in catalog.output
    scheme = await run(env, "catalog", "load", str(SHIPPED / "branch_annual.scheme.yaml"))
    assert scheme.exit_code == 0 and "scheme branch_annual version 1 loaded" in scheme.output
    again = await run(env, "catalog", "load", str(SHIPPED / "office_deductions.catalog.yaml"))
    assert again.exit_code == 0 and "already loaded, unchanged" in again.output
    listed = (await run(env, "catalog", "list")).output.splitlines()
    assert [line.split()[:3] for line in listed] == [["catalog", "office_deductions", "v1"], ["scheme", "branch_annual", "v1"]]
    bad = tmp_path / "bad.json"
    bad.write_text('{"code": "x", "version": 1, "name": "坏", "name_en": "Bad", "items": [{"code": "a", "name": "a", "name_en": "a", '
                   '"points": 100, "indicators": [{"code": "a.b", "name": "b", "name_en": "b", "rule": {"kind": "per_occurrence", "points": -1}}]}]}',
                   encoding="utf-8")
    refused = await run(env, "catalog", "load", str(bad))
    assert refused.exit_code == 1 and "$.items[0].indicators[0].rule.points" in refused.output
    changed = tmp_path / "changed.yaml"
    changed.write_text((SHIPPED / "office_deductions.catalog.yaml").read_text(encoding="utf-8").replace("points: 5}", "points: 6}"), encoding="utf-8")
    conflict = await run(env, "catalog", "load", str(changed))
    assert conflict.exit_code == 1 and "new version" in conflict.output
