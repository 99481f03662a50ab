"""Review of proposed deductions: the chiefs' queue (flagged first, with the photos' facts),
decisions one by one and in bulk, four eyes, the ledger, and who may do what."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, update

from api.models_field import Finding
from api.models_review import Decision
from api.models_scoring import Deduction
from api.settings import Settings
from tests.support.api import add_user, assert_error, login
from tests.support.evidence import digest, evidence_settings, photo, upload
from tests.support.field import field_setup, finding_body, submit

PERIOD = "2026-H2"
VISIT_RULE = "inspection.window_conduct"  # 1 point each


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return evidence_settings(database_url, tmp_path)


@pytest.fixture
async def field(app, db, client):
    return await field_setup(app, db, client)


async def _finding(client, field, task, **extra):
    r = await client.post("/api/v1/findings", json=finding_body(task, VISIT_RULE, **extra), headers=field.member(task))
    assert r.status_code == 201, r.text
    return r.json()


async def _decide(client, headers, deduction_id, **body):
    return await client.post(f"/api/v1/deductions/{deduction_id}/decision", json=body, headers=headers)


async def test_queue_puts_flagged_first_with_the_photos_facts(client, field):
    visits = [t for t in field.tasks if t["kind"] == "field_visit"]
    first, second = visits[0], next(t for t in visits[1:] if t["team"][0] != visits[0]["team"][0])
    body = photo(7)
    original = await upload(client, field.member(first), body, task_id=first["id"])
    reused = await upload(client, field.member(second), body, task_id=second["id"])
    assert original.status_code == 201 and reused.status_code == 201, reused.text
    plain = await _finding(client, field, first, note="窗口无人值守")
    flagged = await _finding(client, field, second, note="照片可疑", evidence_ids=[reused.json()["id"]])
    # A task's findings wait for its submission: until then the inspector may still change them.
    waiting = (await client.get(f"/api/v1/reviews?period={PERIOD}&limit=500", headers=field.chief)).json()
    assert not {plain["deduction_id"], flagged["deduction_id"]} & {i["deduction_id"] for i in waiting["items"]}
    assert_error(await _decide(client, field.chief, plain["deduction_id"], action="confirm"), 409, "TASK_NOT_SUBMITTED")
    await submit(client, field, first)
    await submit(client, field, second)

    page = (await client.get(f"/api/v1/reviews?period={PERIOD}&limit=500", headers=field.chief)).json()
    ids = [item["deduction_id"] for item in page["items"]]
    assert page["total"] == len(ids) and {plain["deduction_id"], flagged["deduction_id"]} <= set(ids)
    # Flagged first; the unflagged proposals after. (Findings cannot cite a photo that does
    # not exist: tests/api/test_field_evidence.py.)
    assert ids.index(flagged["deduction_id"]) < ids.index(plain["deduction_id"])
    item = page["items"][ids.index(flagged["deduction_id"])]
    assert "reused_exact" in item["flags"] and item["points"] == 1 and item["indicator"] == VISIT_RULE
    assert item["finding"]["note"] == "照片可疑" and item["finding"]["inspector"] == second["team"][0]
    assert item["finding"]["team"] == second["team"] and item["finding"]["visited_unit"] == second["unit_code"]
    photo_facts = item["evidence"][0]
    assert photo_facts["sha256"] == digest(body) and photo_facts["thumbnail_url"] == f"/api/v1/evidence/{reused.json()['id']}/thumbnail"
    assert photo_facts["capture_time"] and photo_facts["gps"] and photo_facts["distance_m"] > 0
    assert original.json()["id"] in next(f for f in photo_facts["flags"] if f["code"] == "reused_exact")["evidence_ids"]

    only = (await client.get("/api/v1/reviews?flag=reused_exact", headers=field.chief)).json()
    assert [i["deduction_id"] for i in only["items"]] == [flagged["deduction_id"]]
    mine = (await client.get(f"/api/v1/reviews?inspector={first['team'][0]}", headers=field.chief)).json()
    assert plain["deduction_id"] in {i["deduction_id"] for i in mine["items"]}
    assert flagged["deduction_id"] not in {i["deduction_id"] for i in mine["items"]}
    by_unit = (await client.get(f"/api/v1/reviews?unit_code={second['unit_code']}", headers=field.chief)).json()
    assert all(i["unit_code"] == second["unit_code"] for i in by_unit["items"]) and by_unit["total"] >= 1
    paged = (await client.get(f"/api/v1/reviews?period={PERIOD}&limit=1&offset=1", headers=field.chief)).json()
    assert [i["deduction_id"] for i in paged["items"]] == ids[1:2] and paged["total"] == len(ids)
    assert_error(await client.get("/api/v1/reviews?flag=nope", headers=field.chief), 422, "VALIDATION_ERROR")


async def test_decisions_change_the_deduction_and_are_ledgered(db, client, field):
    task = field.task("field_visit")
    found = [await _finding(client, field, task) for _ in range(3)]
    confirm, adjust, reject = (f["deduction_id"] for f in found)
    await submit(client, field, task)

    assert_error(await _decide(client, field.chief, adjust, action="adjust", reason="情节轻微"), 422, "VALIDATION_ERROR")
    r = await _decide(client, field.chief, adjust, action="adjust", points=0.5)
    assert assert_error(r, 422)["details"][0]["path"] == "$.reason"
    r = await _decide(client, field.chief, confirm, action="confirm", points=2)
    assert assert_error(r, 422)["details"][0]["path"] == "$.points"
    assert assert_error(await _decide(client, field.chief, reject, action="reject"), 422)["details"][0]["path"] == "$.reason"
    # Points count in thousandths: less than one would be stored as a deduction counting nothing.
    tiny = assert_error(await _decide(client, field.chief, adjust, action="adjust", points=0.0004, reason="x"), 422)
    assert tiny["details"][0]["path"] == "$.points"
    for bad in ({"action": "adjust", "points": 0, "reason": "x"}, {"action": "adjust", "points": 1001, "reason": "x"},
                {"action": "approve"}, {"action": "confirm", "extra": 1}, {"action": "reject", "reason": "a\x01"}):
        r = await client.post(f"/api/v1/deductions/{adjust}/decision", json=bad, headers=field.chief)
        assert r.status_code in (400, 422), (bad, r.text)

    done = await _decide(client, field.chief, confirm, action="confirm")
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["decided_by"], done.json()["points"]) == ("confirmed", "chief", None)
    adjusted = (await _decide(client, field.chief, adjust, action="adjust", points=0.5004, reason="情节轻微")).json()
    rejected = (await _decide(client, field.chief, reject, action="reject", reason="照片不能证明")).json()
    assert (adjusted["status"], adjusted["points"], rejected["status"]) == ("adjusted", 0.5, "rejected")
    assert_error(await _decide(client, field.chief, confirm, action="reject", reason="改主意"), 409, "ALREADY_DECIDED")
    assert_error(await _decide(client, field.chief, uuid.uuid4(), action="confirm"), 404, "NOT_FOUND")

    entry = (await client.get(f"/api/v1/ledger/entries/{adjusted['ledger_seq']}", headers=field.chief)).json()
    assert entry["type"] == "deduction.adjusted"
    assert entry["data"]["deduction_id"] == adjust and entry["data"]["points"] == "0.5" and entry["data"]["reason"] == "情节轻微"
    verified = (await client.get("/api/v1/ledger/verify", headers=field.chief)).json()
    assert verified["ok"] is True, verified
    async with db() as session:
        rows = {str(d.id): (d.status, d.adjusted_points) for d in (await session.execute(select(Deduction))).scalars()
                if str(d.id) in (confirm, adjust, reject)}
        decisions = (await session.execute(select(Decision).order_by(Decision.decided_at))).scalars().all()
    assert rows == {confirm: ("confirmed", None), adjust: ("adjusted", 0.5), reject: ("rejected", None)}
    assert [(str(d.deduction_id), d.action, d.reason) for d in decisions] == [
        (confirm, "confirm", None), (adjust, "adjust", "情节轻微"), (reject, "reject", "照片不能证明")]
    # Scores follow: the confirmed basis counts the confirmed point and the adjusted half, not the rejected one.
    score = await client.get(f"/api/v1/units/{task['unit_code']}/scores?period={PERIOD}&basis=confirmed", headers=field.chief)
    assert score.status_code == 200, score.text
    counted = {d["deduction_id"]: d["points"] for d in _deductions(score.json()) if d["deduction_id"] in (confirm, adjust, reject)}
    assert counted == {confirm: 1, adjust: 0.5}


def _deductions(node):
    """Every deduction named anywhere in a score's explanation."""
    if isinstance(node, dict):
        if "deduction_id" in node and "points" in node:
            yield node
        for value in node.values():
            yield from _deductions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _deductions(value)


async def test_bulk_decisions_answer_each_item(client, field):
    task = field.task("field_visit")
    a, b, c = [(await _finding(client, field, task))["deduction_id"] for _ in range(3)]
    await submit(client, field, task)
    assert (await _decide(client, field.chief, c, action="confirm")).status_code == 200
    ghost = str(uuid.uuid4())
    body = {"decisions": [
        {"deduction_id": a, "action": "confirm"},
        {"deduction_id": ghost, "action": "confirm"},
        {"deduction_id": c, "action": "confirm"},
        {"deduction_id": b, "action": "reject"},
        {"deduction_id": b, "action": "adjust", "points": 1000, "reason": "加重"},
        {"deduction_id": b, "action": "adjust", "points": 0.5, "reason": "两次"},
    ]}
    r = await client.post("/api/v1/deductions/decisions", json=body, headers=field.chief)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [(x["deduction_id"], x["status_code"]) for x in results] == [
        (a, 200), (ghost, 404), (c, 409), (b, 422), (b, 422), (b, 200)]
    assert results[0]["decision"]["status"] == "confirmed" and results[5]["decision"]["points"] == 0.5
    assert results[2]["error"]["code"] == "ALREADY_DECIDED" and results[3]["error"]["details"][0]["path"] == "$.decisions[3].reason"
    # An adjustment only lowers what the rule gave: a heavier deduction takes a corrected finding.
    assert results[4]["error"]["details"][0]["path"] == "$.decisions[4].points"
    assert_error(await client.post("/api/v1/deductions/decisions", json={"decisions": []}, headers=field.chief), 422)


async def test_four_eyes_locked_period_and_roles(db, client, field):
    task = field.task("field_visit")
    own, other = (await _finding(client, field, task))["deduction_id"], (await _finding(client, field, task))["deduction_id"]
    await submit(client, field, task)
    # A chief who logged the finding (say, promoted since) may not judge it.
    async with db() as session:
        await session.execute(update(Finding).where(Finding.deduction_id == uuid.UUID(own)).values(inspector="chief"))
        await session.commit()
    assert_error(await _decide(client, field.chief, own, action="confirm"), 403, "FORBIDDEN")
    await add_user(db, "admin", "admin")
    await add_user(db, "unit", "unit", "DG-HUMEN")
    others = {"admin": await login(client, "admin"), "unit": await login(client, "unit"), "inspector": field.member(task)}
    for role, headers in others.items():
        assert_error(await client.get("/api/v1/reviews", headers=headers), 403, "FORBIDDEN")
        assert_error(await _decide(client, headers, other, action="confirm"), 403, "FORBIDDEN")
        r = await client.post("/api/v1/deductions/decisions", json={"decisions": [{"deduction_id": other, "action": "confirm"}]},
                              headers=headers)
        assert_error(r, 403, "FORBIDDEN")
    assert_error(await client.get("/api/v1/reviews"), 401)
    assert (await client.post(f"/api/v1/periods/{PERIOD}/lock", headers=field.chief)).status_code == 200
    assert_error(await _decide(client, field.chief, other, action="confirm"), 409, "PERIOD_LOCKED")
    queue = (await client.get("/api/v1/reviews", headers=field.chief)).json()
    assert other in {i["deduction_id"] for i in queue["items"]}
