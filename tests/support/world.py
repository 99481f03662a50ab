"""A small inspected world for permission tests: one visited office with a submitted task, a
finding with a photo, a confirmed deduction under appeal, and an unannounced visit to the same
office still ahead; a second office with its own deduction; every role logged in.

Role names (the columns of the permission matrix):

- ``admin``, ``chief``: bureau staff;
- ``on``: an inspector on the team of the visited task; ``off``: an inspector on no team of it;
- ``own``: the unit account of the visited office; ``other``: the account of another office;
- ``anon``: no token at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.support.api import add_user, demo_registry, login
from tests.support.evidence import photo, upload
from tests.support.field import VISITS, field_setup, finding_body, now

__all__ = ["ROLES", "World", "build_world"]

ROLES = ("admin", "chief", "on", "off", "own", "other", "anon")
VISIT_RULE = "inspection.window_conduct"


@dataclass
class World:
    headers: dict[str, dict[str, str]]
    ids: dict[str, str] = field(default_factory=dict)  # named objects, e.g. "task", "finding"
    chief2: dict[str, str] = field(default_factory=dict)
    period_body: dict[str, Any] = field(default_factory=dict)  # a valid PeriodCreate body (without a code)


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def build_world(app: Any, db: Any, client: Any) -> World:
    f = await field_setup(app, db, client)
    # Offices: a finding on an entity counts against its office, so the office is the one told.
    offices = {u["code"] for u in demo_registry().units if u["kind"] == "office"}
    visits = [t for t in f.tasks if t["kind"] == "field_visit" and t["unit_code"] in offices]
    task = visits[0]
    other_task = next(t for t in visits if t["unit_code"] != task["unit_code"] and not set(t["team"]) & set(task["team"]))
    on = task["team"][0]
    off = other_task["team"][0]
    await add_user(db, "admin", "admin")
    await add_user(db, "chief2", "chief")
    await add_user(db, "own", "unit", task["unit_code"])
    await add_user(db, "other", "unit", other_task["unit_code"])
    headers = {"admin": await login(client, "admin"), "chief": f.chief, "on": f.inspectors[on], "off": f.inspectors[off],
               "own": await login(client, "own"), "other": await login(client, "other"), "anon": {}}
    world = World(headers=headers, chief2=await login(client, "chief2"))
    ids = world.ids
    ids.update(task=task["id"], other_task=other_task["id"], unit=task["unit_code"], other_unit=other_task["unit_code"],
               plan=f.plan["id"], on=on, off=off)

    # The visited office: a check-in, a photo, two findings (one confirmed, one left proposed), submitted.
    member, other_member = headers["on"], f.inspectors[off]
    check_in = {"id": str(uuid.uuid4()), "lat": 22.8, "lon": 113.7, "accuracy_m": 5, "device_time": now()}
    await _ok(await client.post(f"/api/v1/tasks/{task['id']}/check-ins", json=check_in, headers=member), 201)
    evidence = await _ok(await upload(client, member, photo(11), task_id=task["id"]), 201)
    confirmed = await _ok(await client.post("/api/v1/findings", headers=member,
                                            json=finding_body(task, VISIT_RULE, note="窗口无人值守", evidence_ids=[evidence["id"]])), 201)
    proposed = await _ok(await client.post("/api/v1/findings", json=finding_body(task, VISIT_RULE, note="台账缺页"),
                                           headers=member), 201)
    await _ok(await client.post(f"/api/v1/tasks/{task['id']}/submit", headers=member))
    await _ok(await client.post(f"/api/v1/deductions/{confirmed['deduction_id']}/decision", json={"action": "confirm"},
                                headers=f.chief))
    appeal = await _ok(await client.post(f"/api/v1/deductions/{confirmed['deduction_id']}/appeals",
                                         json={"text": "当日有人值守"}, headers=headers["own"]), 201)
    ids.update(evidence=evidence["id"], finding=confirmed["id"], deduction=confirmed["deduction_id"],
               proposed_finding=proposed["id"], proposed=proposed["deduction_id"], appeal=appeal["id"])

    # The other office: a confirmed deduction of its own (standing, not appealed).
    other_evidence = await _ok(await upload(client, other_member, photo(12), task_id=other_task["id"]), 201)
    other_finding = await _ok(await client.post("/api/v1/findings", headers=other_member,
                                                json=finding_body(other_task, VISIT_RULE, evidence_ids=[other_evidence["id"]])), 201)
    await _ok(await client.post(f"/api/v1/tasks/{other_task['id']}/submit", headers=other_member))
    await _ok(await client.post(f"/api/v1/deductions/{other_finding['deduction_id']}/decision",
                                json={"action": "confirm"}, headers=f.chief))
    ids.update(other_evidence=other_evidence["id"], other_finding=other_finding["id"],
               other_deduction=other_finding["deduction_id"])

    # An unannounced visit to the same office, still ahead: the office must not learn of it.
    grid = (await _ok(await client.get(f"/api/v1/units/{task['unit_code']}", headers=f.chief)))["grid"]
    hidden_plan = await _ok(await client.post("/api/v1/plans", headers=f.chief, json={
        "name": "突击检查", "due_from": "2026-11-01", "due_to": "2026-12-31", "period": f.plan.get("period"),
        "params": {**VISITS, "units": {"filter": {"kind": ["office"], "grid": [grid]}, "rules": [{"size": 1000}]},
                   "case_files": None, "assignment": {"task_kinds": ["field_visit"], "team_size": 2}}}), 201)
    drawn = await _ok(await client.post(f"/api/v1/plans/{hidden_plan['id']}/draw", json={"seed": "hidden-1"},
                                        headers=f.chief), 201)
    hidden = (await client.get(f"/api/v1/tasks?plan_id={hidden_plan['id']}", headers=f.chief)).json()["items"]
    hidden_task = next(t for t in hidden if t["unit_code"] == task["unit_code"])
    assert hidden_task["unannounced"], hidden_task
    ids.update(hidden_plan=hidden_plan["id"], hidden_task=hidden_task["id"], draw=drawn["id"])

    # What the permission rows refer to: the first draw, conflicts, an upload, catalog versions.
    draws = (await client.get(f"/api/v1/draws?plan_id={f.plan['id']}", headers=f.chief)).json()["items"]
    ids["main_draw"] = draws[0]["id"]
    for role in ROLES:
        staff = role if role in ("admin", "chief") else "admin"
        ids[f"conflict_{role}"] = ids.get(f"conflict_{staff}") or str((await _ok(await client.post(
            "/api/v1/conflicts", json={"inspector": off if staff == "admin" else on, "unit_code": other_task["unit_code"],
                                       "reason": f"{staff} 回避"},
            headers=f.chief), 201))["id"])
    created = await client.post("/api/v1/uploads", headers={**member, "Tus-Resumable": "1.0.0", "Upload-Length": "100"})
    assert created.status_code == 201, created.text
    ids["upload"] = created.headers["location"].rstrip("/").rsplit("/", 1)[-1]
    period = await _ok(await client.get(f"/api/v1/periods/{f.plan.get('period') or '2026-H2'}", headers=f.chief))
    world.period_body = {k: period[k] for k in ("name", "starts_on", "ends_on", "catalog_code", "catalog_version",
                                                "scheme_code", "scheme_version", "unit_kind", "parent_code") if k in period}
    ids.update(catalog=f"{period['catalog_code']}/{period['catalog_version']}", catalog_code=period["catalog_code"],
               scheme=f"{period['scheme_code']}/{period['scheme_version']}", scheme_code=period["scheme_code"])
    return world
