"""Plans and draws through the API: seeded, reproducible, verifiable, committed, staffed."""

from __future__ import annotations

import hashlib
import io
import uuid

import openpyxl
import pytest
from sqlalchemy import update

from api.db import utcnow
from api.models_draws import Draw, Task

from tests.support.api import add_user, assert_error, demo_registry, login, seed_demo_registry

PARAMS = {
    "units": {
        "stratify_by": ["risk_class"],
        "filter": {"kind": ["entity"]},
        "rules": [{"where": {"risk_class": "I"}, "rate": 0.05}, {"where": {"risk_class": "II"}, "size": 3},
                  {"where": {"risk_class": "III"}, "rate": 0.02, "min": 2}],
    },
    "case_files": None,
    "assignment": {"task_kinds": ["field_visit"], "team_size": 2},
}
OFFICE_PARAMS = {
    "units": {"filter": {"kind": ["office"], "parent_code": ["DG"]}, "rules": [{"size": 5}]},
    "case_files": {"per_type": {"enforcement": {"size": 2}, "registration": {"size": 1}}},
    "assignment": {"task_kinds": ["file_review"], "team_size": 2},
}


def plan_body(**overrides):
    return {"name": "2026年第四季度双随机抽查", "params": PARAMS, "due_from": "2026-11-23", "due_to": "2026-12-18", **overrides}


@pytest.fixture
async def chief(db, client):
    await seed_demo_registry(db)
    await add_user(db, "chief", "chief")
    return await login(client, "chief")


async def make_plan(client, chief, **overrides):
    r = await client.post("/api/v1/plans", json=plan_body(**overrides), headers=chief)
    assert r.status_code == 201, r.text
    return r.json()


async def draw(client, chief, plan, **body):
    return await client.post(f"/api/v1/plans/{plan['id']}/draw", json=body or {"seed": "314159"}, headers=chief)


async def test_draw_selects_stratified_units_and_staffs_teams(client, chief):
    plan = await make_plan(client, chief)
    r = await draw(client, chief, plan)
    assert r.status_code == 201, r.text
    summary = r.json()
    record = (await client.get(f"/api/v1/draws/{summary['id']}", headers=chief)).json()["record"]
    assert record["algorithm"] == "consistent-sha256" and record["seed"]["seed"] == "314159"
    strata = {s["label"]: s for s in record["units"]["strata"]}
    entities = [u for u in demo_registry().units if u["kind"] == "entity"]
    counts = {c: sum(1 for u in entities if u["risk_class"] == c) for c in ("I", "II", "III")}
    assert strata["risk_class=I"]["selected"] == -(-counts["I"] * 5 // 100)  # rate rounded up
    assert strata["risk_class=II"]["selected"] == 3
    assert strata["risk_class=III"]["selected"] == max(2, -(-counts["III"] * 2 // 100))
    tasks = (await client.get(f"/api/v1/tasks?plan_id={plan['id']}&limit=500", headers=chief)).json()
    assert tasks["total"] == summary["tasks"] == sum(s["selected"] for s in strata.values())
    by_code = {u["code"]: u for u in demo_registry().units}
    roster = {i["username"]: i for i in demo_registry().inspectors}
    loads = {}
    for t in tasks["items"]:
        assert by_code[t["unit_code"]]["kind"] == "entity" and len(set(t["team"])) == 2
        for name in t["team"]:
            inspector = roster[name]
            assert inspector["active"] and "field_visit" in inspector["qualifications"]
            assert inspector["home_unit"] != t["unit_code"] and inspector["home_grid"] != by_code[t["unit_code"]]["grid"]
            loads[name] = loads.get(name, 0) + 1
    assert max(loads.values()) - min(loads.values()) <= 1 or len(loads) < len(roster)
    assert (await client.get(f"/api/v1/plans/{plan['id']}", headers=chief)).json()["status"] == "drawn"


async def test_same_seed_same_draw_and_verification(db, client, chief):
    first = (await draw(client, chief, await make_plan(client, chief))).json()
    second = (await draw(client, chief, await make_plan(client, chief))).json()
    a = (await client.get(f"/api/v1/draws/{first['id']}", headers=chief)).json()["record"]
    b = (await client.get(f"/api/v1/draws/{second['id']}", headers=chief)).json()["record"]
    assert a["units"] == b["units"] and a["assignment"]["tasks"] == b["assignment"]["tasks"]
    assert first["population_digest"] == second["population_digest"] == a["units"]["population_digest"]
    for against in ("recorded", "current"):
        v = (await client.post(f"/api/v1/draws/{first['id']}/verify", json={"against": against}, headers=chief)).json()
        assert v == {"ok": True, "differences": [], "total": 0}, against
    # A changed registry record changes the digest: the current-registry check fails loudly,
    # while the recorded inputs still reproduce the draw.
    code = a["units"]["units"][0]["unit_id"]
    current = (await client.get(f"/api/v1/units/{code}", headers=chief)).json()["risk_class"]
    changed = await client.patch(f"/api/v1/units/{code}", json={"risk_class": "II" if current != "II" else "I"}, headers=chief)
    assert changed.status_code == 200
    now = (await client.post(f"/api/v1/draws/{first['id']}/verify", json={"against": "current"}, headers=chief)).json()
    assert now["ok"] is False and now["differences"][0]["path"] == "units.population_digest"
    assert (await client.post(f"/api/v1/draws/{first['id']}/verify", json={}, headers=chief)).json()["ok"] is True


async def test_seed_commitment_is_kept(client, chief):
    commitment = hashlib.sha256(b"20261121").hexdigest()
    plan = await make_plan(client, chief, seed_commitment=commitment.upper())
    wrong = await draw(client, chief, plan, seed="20261122")
    assert_error(wrong, 409, "SEED_COMMITMENT_MISMATCH")
    assert (await client.get(f"/api/v1/plans/{plan['id']}", headers=chief)).json()["status"] == "draft"
    assert (await client.get(f"/api/v1/tasks?plan_id={plan['id']}", headers=chief)).json()["total"] == 0
    moved = await client.patch(f"/api/v1/plans/{plan['id']}", json={"seed_commitment": "0" * 64}, headers=chief)
    assert_error(moved, 409, "COMMITMENT_FIXED")
    ok = await draw(client, chief, plan, seed="20261121")
    assert ok.status_code == 201
    assert_error(await draw(client, chief, plan, seed="20261121"), 409, "PLAN_ALREADY_DRAWN")
    assert_error(await client.patch(f"/api/v1/plans/{plan['id']}", json={"name": "x"}, headers=chief), 409, "PLAN_ALREADY_DRAWN")
    record = (await client.get(f"/api/v1/draws/{ok.json()['id']}", headers=chief)).json()["record"]
    assert record["seed"]["commitment"] == commitment


@pytest.mark.parametrize("change", [
    {"params": {**PARAMS, "units": {**PARAMS["units"], "rules": [{"size": 3}]}}},
    {"params": {**PARAMS, "units": {**PARAMS["units"], "filter": {"kind": ["office"]}}}},
    {"params": {**PARAMS, "assignment": {"task_kinds": ["field_visit"], "team_size": 3}}},
    {"exclude_recent_draws": 2},
    {"due_to": "2026-12-15"},
    {"unannounced": False},
    {"name": "改名", "params": {**PARAMS, "units": {**PARAMS["units"], "rules": [{"size": 1}]}}, "exclude_recent_draws": 1},
])
async def test_a_seed_commitment_freezes_what_the_draw_depends_on(client, chief, change):
    """Whoever knows the seed must not tune the plan after committing to it until the draw
    picks whom they want: once the commitment is published only name and description change."""
    commitment = hashlib.sha256(b"20261121").hexdigest()
    plan = await make_plan(client, chief, seed_commitment=commitment)
    r = await client.patch(f"/api/v1/plans/{plan['id']}", json=change, headers=chief)
    body = assert_error(r, 409, "COMMITMENT_FIXED")
    assert body["details"] == {"seed_commitment": commitment, "fields": sorted(set(change) - {"name"})}
    assert (await client.get(f"/api/v1/plans/{plan['id']}", headers=chief)).json() == plan  # nothing changed, not even the name


async def test_a_committed_plan_keeps_name_description_and_unchanged_fields_editable(client, chief):
    commitment = hashlib.sha256(b"20261121").hexdigest()
    plan = await make_plan(client, chief)
    # Before a commitment the plan is a draft like any other; the commitment may come with changes.
    changed = await client.patch(f"/api/v1/plans/{plan['id']}", json={"exclude_recent_draws": 1, "seed_commitment": commitment},
                                 headers=chief)
    assert changed.status_code == 200 and changed.json()["exclude_recent_draws"] == 1
    # Afterwards: the title and note, and a client resending the plan as it is.
    same = {k: plan[k] for k in ("params", "due_from", "due_to", "unannounced", "period")}
    r = await client.patch(f"/api/v1/plans/{plan['id']}", json={
        "name": "第四季度抽查（更正）", "description": "见公告", "seed_commitment": commitment.upper(),
        "exclude_recent_draws": 1, **same}, headers=chief)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "第四季度抽查（更正）" and r.json()["description"] == "见公告"
    ok = await draw(client, chief, plan, seed="20261121")
    assert ok.status_code == 201, ok.text


async def test_seed_composed_from_witnesses_is_recorded_as_given(client, chief):
    plan = await make_plan(client, chief)
    parts = [{"source": "公证员 王某 掷骰", "value": "3141"}, {"source": "监督员 李某 掷骰", "value": "5926"}]
    r = await draw(client, chief, plan, seed_parts=parts)
    assert r.status_code == 201, r.text
    record = (await client.get(f"/api/v1/draws/{r.json()['id']}", headers=chief)).json()["record"]
    assert record["seed"]["seed"] == "3141|5926" and record["seed"]["parts"] == parts
    assert_error(await draw(client, chief, await make_plan(client, chief), seed="1", seed_parts=parts), 422)
    assert_error(await draw(client, chief, await make_plan(client, chief), seed_parts=[{"source": "x", "value": "1|2"}]), 422, "INVALID_SEED")


async def test_bad_plans_are_refused_with_paths(client, chief):
    bad_field = {**PARAMS, "units": {**PARAMS["units"], "stratify_by": ["colour"], "rules": [{"size": 1}]}}
    assert_error(await client.post("/api/v1/plans", json=plan_body(params=bad_field), headers=chief), 422)
    no_teams = {**PARAMS, "assignment": None}
    body = assert_error(await client.post("/api/v1/plans", json=plan_body(params=no_teams), headers=chief), 422)
    assert body["details"][0]["path"] == "$.params.assignment"
    both = {**PARAMS, "units": {"rules": [{"size": 1, "rate": 0.5}]}}
    assert_error(await client.post("/api/v1/plans", json=plan_body(params=both), headers=chief), 422)
    backwards = assert_error(await client.post("/api/v1/plans", json=plan_body(due_from="2026-12-20"), headers=chief), 422)
    assert backwards["details"][0]["path"] == "$.due_to"
    # Compared with district names, inspectors' home grids never match: the rule would be off.
    by_district = {**PARAMS, "assignment": {**PARAMS["assignment"], "grid_field": "district"}}
    off = assert_error(await client.post("/api/v1/plans", json=plan_body(params=by_district), headers=chief), 422)
    assert off["details"][0]["path"] == "$.params.assignment.grid_field"


async def test_infeasible_plan_names_the_unit_and_leaves_nothing(client, chief):
    for inspector in demo_registry().inspectors[3:]:
        assert (await client.patch(f"/api/v1/inspectors/{inspector['username']}", json={"active": False}, headers=chief)).status_code == 200
    big_team = {**PARAMS, "assignment": {"task_kinds": ["field_visit"], "team_size": 4}}
    plan = await make_plan(client, chief, params=big_team)
    body = assert_error(await draw(client, chief, plan), 422, "INFEASIBLE_ASSIGNMENT")
    assert body["details"]["unit_id"] in body["message"] and body["details"]["needed"] == 4
    assert (await client.get(f"/api/v1/plans/{plan['id']}", headers=chief)).json()["status"] == "draft"


async def test_conflicts_and_recent_visits_are_excluded(client, chief):
    office_plan = await make_plan(client, chief, params=OFFICE_PARAMS, unannounced=False)
    first = (await draw(client, chief, office_plan)).json()
    tasks = (await client.get(f"/api/v1/tasks?plan_id={office_plan['id']}&limit=500", headers=chief)).json()["items"]
    visited = {(name, t["unit_code"]) for t in tasks for name in t["team"]}
    name, unit = sorted(visited)[0]
    declared = await client.post("/api/v1/conflicts", json={"inspector": name, "unit_code": unit, "reason": "配偶在该所任职"}, headers=chief)
    assert declared.status_code == 201
    again = await make_plan(client, chief, params=OFFICE_PARAMS, exclude_recent_draws=1)
    second = (await draw(client, chief, again)).json()
    later = (await client.get(f"/api/v1/tasks?plan_id={again['id']}&limit=500", headers=chief)).json()["items"]
    assert {t["unit_code"] for t in later} == {t["unit_code"] for t in tasks}  # same seed, same units
    pairs = {(n, t["unit_code"]) for t in later for n in t["team"]}
    assert not pairs & visited  # nobody returns to a unit they visited in the last draw
    record = (await client.get(f"/api/v1/draws/{second['id']}", headers=chief)).json()["record"]
    assert record["assignment"]["exclusions_digest"] != (await client.get(f"/api/v1/draws/{first['id']}", headers=chief)).json()["record"]["assignment"]["exclusions_digest"]
    files = {t["unit_code"]: t["case_files"] for t in tasks}
    assert all(len(f) == 3 for f in files.values())  # 2 enforcement + 1 registration each


async def test_visibility_of_plans_tasks_and_draws(db, client, chief):
    await add_user(db, "insp01", "inspector")
    await add_user(db, "humen", "unit", unit_code="DG-HUMEN")
    visit = await make_plan(client, chief, params={**OFFICE_PARAMS, "units": {"filter": {"kind": ["office"]}, "rules": [{"size": 40}]},
                                                   "assignment": {"task_kinds": ["field_visit", "file_review"], "team_size": 2}})
    drawn = (await draw(client, chief, visit)).json()
    inspector, unit = await login(client, "insp01"), await login(client, "humen")
    assert_error(await client.get("/api/v1/plans", headers=inspector), 403)
    assert_error(await client.get("/api/v1/plans", headers=unit), 403)
    mine = (await client.get("/api/v1/me/tasks", headers=inspector)).json()["items"]
    assert mine and all("insp01" in t["team"] for t in mine)
    assert (await client.get("/api/v1/tasks?limit=500", headers=inspector)).json()["total"] == len(mine)
    all_tasks = (await client.get(f"/api/v1/tasks?plan_id={visit['id']}&limit=500", headers=chief)).json()["items"]
    foreign = next(t for t in all_tasks if "insp01" not in t["team"])
    assert_error(await client.get(f"/api/v1/tasks/{foreign['id']}", headers=inspector), 404)
    assert_error(await client.get("/api/v1/me/tasks", headers=unit), 403)
    humen = [t for t in all_tasks if t["unit_code"] == "DG-HUMEN"]
    assert {t["kind"] for t in humen} == {"field_visit", "file_review"}
    # The file review beside the visit (same draw, window and team) would announce it: neither shows.
    assert (await client.get("/api/v1/tasks", headers=unit)).json() == {"items": [], "total": 0, "limit": 50, "offset": 0}
    ghost = assert_error(await client.get("/api/v1/tasks/00000000-0000-0000-0000-000000000000", headers=unit), 404)
    for task in humen:
        assert assert_error(await client.get(f"/api/v1/tasks/{task['id']}", headers=unit), 404)["message"] == ghost["message"]
    hidden = next(t for t in humen if t["kind"] == "field_visit")
    async with db() as session:
        await session.execute(update(Task).where(Task.id == uuid.UUID(hidden["id"])).values(status="submitted"))
        await session.commit()
    visible = (await client.get("/api/v1/tasks", headers=unit)).json()
    assert sorted(t["kind"] for t in visible["items"]) == ["field_visit", "file_review"]  # the visit done, both show
    async with db() as session:
        await session.execute(update(Task).where(Task.id == uuid.UUID(hidden["id"])).values(status="assigned"))
        await session.commit()
    # Draws stay unknown to non-chiefs until published (一公开).
    assert_error(await client.get(f"/api/v1/draws/{drawn['id']}", headers=unit), 404)
    assert (await client.get("/api/v1/draws", headers=inspector)).json()["total"] == 0
    # Published, the record names every unit and team: not while an unannounced visit is to come.
    pending = sum(t["kind"] == "field_visit" for t in all_tasks)
    refused = assert_error(await client.post(f"/api/v1/draws/{drawn['id']}/publish", headers=chief), 409, "VISITS_PENDING")
    assert refused["details"] == {"pending": pending}
    assert_error(await client.get(f"/api/v1/draws/{drawn['id']}", headers=unit), 404)
    async with db() as session:
        await session.execute(update(Task).where(Task.draw_id == uuid.UUID(drawn["id"])).values(status="submitted"))
        await session.commit()
    assert (await client.post(f"/api/v1/draws/{drawn['id']}/publish", headers=chief)).json()["published_at"]
    assert_error(await client.post(f"/api/v1/draws/{drawn['id']}/publish", headers=unit), 403)
    published = (await client.get(f"/api/v1/draws/{drawn['id']}", headers=unit)).json()
    assert published["draw"]["population_digest"] == drawn["population_digest"]
    assert (await client.post(f"/api/v1/draws/{drawn['id']}/verify", json={"against": "recorded"}, headers=unit)).json()["ok"]
    # Today's registry is the chiefs' to compare with, not a unit's: said, not silently ignored.
    assert_error(await client.post(f"/api/v1/draws/{drawn['id']}/verify", json={"against": "current"}, headers=unit), 403)


async def test_task_list_exports_for_printing(client, chief):
    plan = await make_plan(client, chief, params=OFFICE_PARAMS)
    await draw(client, chief, plan)
    csv = await client.get(f"/api/v1/plans/{plan['id']}/tasks/export?format=csv&lang=zh", headers=chief)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    text = csv.content.decode("utf-8")
    assert text.startswith("\ufeff抽取顺序,单位代码,被检查单位,检查类型,检查组,抽查案卷")
    assert text.count("案卷评查") == 5 and "分局" in text
    xlsx = await client.get(f"/api/v1/plans/{plan['id']}/tasks/export?format=xlsx&lang=en", headers=chief)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("Draw order", "Unit code", "Unit", "Kind") and len(rows) == 6
    assert [r[0] for r in rows[1:]] == sorted(r[0] for r in rows[1:])


async def test_conflict_rules(db, client, chief):
    await add_user(db, "insp01", "inspector")
    inspector = await login(client, "insp01")
    own = await client.post("/api/v1/conflicts", json={"inspector": "insp01", "unit_code": "DG-HUMEN", "reason": "曾在该所工作"}, headers=inspector)
    assert own.status_code == 201
    assert_error(await client.post("/api/v1/conflicts", json={"inspector": "insp02", "unit_code": "DG-HUMEN", "reason": "x"}, headers=inspector), 403)
    assert_error(await client.post("/api/v1/conflicts", json={"inspector": "insp01", "unit_code": "DG-HUMEN", "reason": "x"}, headers=chief), 409)
    assert_error(await client.post("/api/v1/conflicts", json={"inspector": "nobody", "unit_code": "NOPE", "reason": "x"}, headers=chief), 422)
    assert [c["unit_code"] for c in (await client.get("/api/v1/conflicts", headers=inspector)).json()["items"]] == ["DG-HUMEN"]
    assert_error(await client.delete(f"/api/v1/conflicts/{own.json()['id']}", headers=inspector), 403)
    assert (await client.delete(f"/api/v1/conflicts/{own.json()['id']}", headers=chief)).status_code == 204


async def test_a_plan_names_an_open_period_and_values_the_sampler_takes(db, client, chief):
    """Refused when the plan is made, not later when it is drawn (or never, into a closed period)."""
    unknown = assert_error(await client.post("/api/v1/plans", json=plan_body(period="9999-X"), headers=chief), 422)
    assert unknown["details"][0]["path"] == "$.period"
    params = {**OFFICE_PARAMS, "units": {**OFFICE_PARAMS["units"], "filter": {"kind": ["office\u0001"]}}}
    control = assert_error(await client.post("/api/v1/plans", json=plan_body(params=params), headers=chief), 422)
    assert control["details"][0]["path"].startswith("$.params.units.filter")


async def test_published_inputs_never_name_another_draws_visit_to_come(db, client, chief):
    """A draw's inputs list the recent visits it kept inspectors away from; published, they
    would tell a unit who comes on an unannounced visit of another draw. The draw waits."""
    await add_user(db, "humen", "unit", unit_code="DG-HUMEN")
    unit = await login(client, "humen")
    offices = {"filter": {"kind": ["office"], "parent_code": ["DG"]}, "rules": [{"size": 5}]}
    secret = await make_plan(client, chief, name="暗访", params={"units": offices, "case_files": None,
                                                              "assignment": {"task_kinds": ["field_visit"], "team_size": 2}})
    hidden = (await draw(client, chief, secret)).json()
    review = await make_plan(client, chief, name="案卷评查", params=OFFICE_PARAMS, unannounced=False, exclude_recent_draws=100)
    shown = (await draw(client, chief, review)).json()
    visits = (await client.get(f"/api/v1/tasks?plan_id={secret['id']}&limit=500", headers=chief)).json()["items"]
    assert visits and all(t["unannounced"] and t["kind"] == "field_visit" for t in visits)
    inputs = (await client.get(f"/api/v1/draws/{shown['id']}/inputs", headers=chief)).json()
    named = {(n, t["unit_code"]) for t in visits for n in t["team"]} & {tuple(p) for p in inputs["recent"]}
    assert named  # the inputs are whole: they do name the visits to come

    refused = assert_error(await client.post(f"/api/v1/draws/{shown['id']}/publish", headers=chief), 409, "VISITS_PENDING")
    assert refused["details"] == {"revealed": [{"draw_id": hidden["id"], "plan_id": secret["id"], "plan_name": "暗访",
                                                "pending": len({t["id"] for t in visits
                                                                if any((n, t["unit_code"]) in named for n in t["team"])})}]}
    assert_error(await client.get(f"/api/v1/draws/{shown['id']}/inputs", headers=unit), 404)

    # One published before publishing looked at its inputs: a unit may not download them yet.
    async with db() as session:
        await session.execute(update(Draw).where(Draw.id == uuid.UUID(shown["id"])).values(published_at=utcnow()))
        await session.commit()
    assert (await client.get(f"/api/v1/draws/{shown['id']}", headers=unit)).status_code == 200
    early = assert_error(await client.get(f"/api/v1/draws/{shown['id']}/inputs", headers=unit), 409, "VISITS_PENDING")
    assert early["details"] == refused["details"] and "DG-" not in str(early)
    assert (await client.get(f"/api/v1/draws/{shown['id']}/inputs", headers=chief)).status_code == 200
    async with db() as session:
        await session.execute(update(Draw).where(Draw.id == uuid.UUID(shown["id"])).values(published_at=None))
        await session.commit()

    # The visits done, the draw is published with its inputs whole, and anyone re-checks it.
    async with db() as session:
        await session.execute(update(Task).where(Task.draw_id == uuid.UUID(hidden["id"])).values(status="submitted"))
        await session.commit()
    assert (await client.post(f"/api/v1/draws/{shown['id']}/publish", headers=chief)).json()["published_at"]
    assert (await client.get(f"/api/v1/draws/{shown['id']}/inputs", headers=unit)).json() == inputs
    assert (await client.post(f"/api/v1/draws/{shown['id']}/verify", json={"against": "recorded"}, headers=unit)).json()["ok"]


async def test_a_recent_visit_of_a_draw_outside_the_window_blocks_nothing(db, client, chief):
    offices = {"filter": {"kind": ["office"], "parent_code": ["DG"]}, "rules": [{"size": 5}]}
    secret = await make_plan(client, chief, params={"units": offices, "case_files": None,
                                                    "assignment": {"task_kinds": ["field_visit"], "team_size": 2}})
    await draw(client, chief, secret)
    first = await make_plan(client, chief, params=OFFICE_PARAMS, unannounced=False)
    await draw(client, chief, first)
    # Only the last draw's visits (the announced reviews) are this draw's recent ones.
    review = await make_plan(client, chief, params=OFFICE_PARAMS, unannounced=False, exclude_recent_draws=1)
    shown = (await draw(client, chief, review, seed="271828")).json()
    visits = (await client.get(f"/api/v1/tasks?plan_id={secret['id']}&limit=500", headers=chief)).json()["items"]
    recent = {tuple(p) for p in (await client.get(f"/api/v1/draws/{shown['id']}/inputs", headers=chief)).json()["recent"]}
    assert recent & {(n, t["unit_code"]) for t in visits for n in t["team"]}  # the pair a visit to come also has
    assert (await client.post(f"/api/v1/draws/{shown['id']}/publish", headers=chief)).json()["published_at"]


async def test_a_draw_that_would_select_nothing_is_refused_and_the_plan_stays_a_draft(client, chief):
    typo = {**PARAMS, "units": {**PARAMS["units"], "filter": {"kind": ["offcie"]}}}
    plan = await make_plan(client, chief, params=typo)
    body = assert_error(await draw(client, chief, plan), 422, "INVALID_PARAMETERS")
    assert "nothing was drawn" in body["message"]
    assert (await client.get(f"/api/v1/plans/{plan['id']}", headers=chief)).json()["status"] == "draft"
    fixed = await client.patch(f"/api/v1/plans/{plan['id']}", json={"params": PARAMS}, headers=chief)
    assert fixed.status_code == 200, fixed.text
    assert (await draw(client, chief, plan)).status_code == 201


async def test_a_seed_nobody_could_retype_is_refused(client, chief):
    plan = await make_plan(client, chief)
    for body, path in (({"seed": " 2026 "}, "$.seed"), ({"seed": "2026\u200b"}, "$.seed"),
                       ({"seed_parts": [{"source": "见证人\u0000甲", "value": "31"}]}, "$.seed_parts[0].source"),
                       ({"seed_parts": [{"source": "见证人甲", "value": "31 "}]}, "$.seed_parts[0].value")):
        refused = assert_error(await draw(client, chief, plan, **body), 422)
        assert refused["details"][0]["path"] == path, refused
    assert (await client.get(f"/api/v1/plans/{plan['id']}", headers=chief)).json()["status"] == "draft"
    assert (await draw(client, chief, plan, seed_parts=[{"source": "见证人甲 掷骰", "value": "31"}])).status_code == 201
    blank = assert_error(await client.post("/api/v1/plans", json=plan_body(name="   "), headers=chief), 422)
    assert blank["details"][0]["path"] == "$.name"
