"""Field work through the API: idempotent findings, checks against the task, check-ins,
submission freezing findings, corrections, batch sync, conditional task lists."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from api.models_field import Finding
from api.models_scoring import Deduction
from tests.support.api import add_user, assert_error, demo_registry, login
from tests.support.field import field_setup, finding_body, now, submit

FILE_RULE = "registration.file_quality.beyond_time_limit"   # 1 point each, file reviews only
VISIT_RULE = "inspection.window_conduct"                      # 1 point each, visits and call-backs


@pytest.fixture
async def field(app, db, client):
    return await field_setup(app, db, client)


async def test_finding_create_is_idempotent(db, client, field):
    task = field.task("file_review")
    me = field.member(task)
    body = finding_body(task, FILE_RULE, count=2, case_file=task["case_files"][0], note="超时两件", staff=["张伟"])
    first = await client.post("/api/v1/findings", json=body, headers=me)
    assert first.status_code == 201, first.text
    stored = first.json()
    assert stored["points"] == 2 and stored["charged_unit"] == task["unit_code"] and stored["deduction_id"]
    again = await client.post("/api/v1/findings", json=body, headers=me)
    assert again.status_code == 200 and again.json() == stored
    other = await client.post("/api/v1/findings", json={**body, "count": 3}, headers=me)
    assert_error(other, 409, "FINDING_ID_REUSED")
    async with db() as s:
        assert (await s.execute(select(func.count()).select_from(Finding))).scalar_one() == 1
        deduction = (await s.execute(select(Deduction).where(Deduction.finding_id == uuid.UUID(body["id"])))).scalar_one()
        assert (deduction.status, deduction.points, deduction.unit_code, deduction.staff) == ("proposed", 2, task["unit_code"], ["张伟"])

    # The task's facts are cached now, so the next finding is worked out as it is queued,
    # before the writer's turn: its answer must be exactly what was stored.
    body = finding_body(task, FILE_RULE, count=3, note="第二批", staff=["李四", "王五"])
    second = await client.post("/api/v1/findings", json=body, headers=me)
    assert second.status_code == 201 and second.json()["points"] == 3
    replay = await client.post("/api/v1/findings", json=body, headers=me)
    assert replay.status_code == 200 and replay.json() == second.json()


async def test_findings_on_an_entity_count_against_its_office(client, field):
    task = field.task("field_visit", unit_kind="entity")
    r = await client.post("/api/v1/findings", json=finding_body(task, VISIT_RULE), headers=field.member(task))
    assert r.status_code == 201, r.text
    parents = {u["code"]: u["parent_code"] for u in demo_registry().units}
    assert r.json()["charged_unit"] == parents[task["unit_code"]]


async def test_findings_are_checked_against_the_task(db, client, field):
    review, visit = field.task("file_review"), field.task("field_visit")
    me = field.member(review)
    assert_error(await client.post("/api/v1/findings", json=finding_body(review, FILE_RULE), headers=field.outsider(review)), 404)
    ghost = {**finding_body(review, FILE_RULE), "task_id": str(uuid.uuid4())}
    assert_error(await client.post("/api/v1/findings", json=ghost, headers=me), 404)
    assert_error(await client.post("/api/v1/findings", json=finding_body(review, FILE_RULE), headers=field.chief), 403)
    unknown = assert_error(await client.post("/api/v1/findings", json=finding_body(review, "no.such.rule"), headers=me), 422)
    assert unknown["details"][0]["path"] == "$.indicator"
    wrong_kind = assert_error(await client.post("/api/v1/findings", json=finding_body(visit, FILE_RULE), headers=field.member(visit)), 422)
    assert "field_visit" in wrong_kind["details"][0]["message"]
    not_sampled = finding_body(review, FILE_RULE, case_file="not-a-sampled-file")
    assert assert_error(await client.post("/api/v1/findings", json=not_sampled, headers=me), 422)["details"][0]["path"] == "$.case_file"
    naive = {**finding_body(review, FILE_RULE), "recorded_at": "2026-11-21T10:00:00"}
    assert_error(await client.post("/api/v1/findings", json=naive, headers=me), 422)
    async with db() as s:
        assert (await s.execute(select(func.count()).select_from(Finding))).scalar_one() == 0


async def test_plan_without_period_takes_no_findings(app, db, client):
    field = await field_setup(app, db, client, period=None)
    task = field.task("file_review")
    body = assert_error(await client.post("/api/v1/findings", json=finding_body(task, FILE_RULE), headers=field.member(task)), 422)
    assert "period" in body["details"][0]["message"]


async def test_check_in_records_distance_and_starts_the_task(client, field):
    task = field.task("field_visit")
    me = field.member(task)
    unit = next(u for u in demo_registry().units if u["code"] == task["unit_code"])
    near = {"id": str(uuid.uuid4()), "lat": unit["lat"] + 0.0005, "lon": unit["lon"], "accuracy_m": 12, "device_time": now()}
    r = await client.post(f"/api/v1/tasks/{task['id']}/check-ins", json=near, headers=me)
    assert r.status_code == 201, r.text
    assert r.json()["flags"] == [] and 50 < r.json()["distance_m"] < 60
    assert (await client.post(f"/api/v1/tasks/{task['id']}/check-ins", json=near, headers=me)).status_code == 200
    assert_error(await client.post(f"/api/v1/tasks/{task['id']}/check-ins", json={**near, "lat": 0}, headers=me), 409)
    assert (await client.get(f"/api/v1/tasks/{task['id']}", headers=me)).json()["status"] == "in_progress"
    skewed = datetime.now(timezone.utc) - timedelta(hours=2)
    far = {"id": str(uuid.uuid4()), "lat": unit["lat"] + 0.02, "lon": unit["lon"], "accuracy_m": 20, "device_time": skewed.isoformat(), "kind": "out"}
    flagged = (await client.post(f"/api/v1/tasks/{task['id']}/check-ins", json=far, headers=me)).json()
    assert flagged["flags"] == ["far_from_unit", "clock_skew"] and flagged["distance_m"] > 2000
    # 44 km away with a claimed accuracy of 100 km: not far "within the error", but no position at all.
    vague = {"id": str(uuid.uuid4()), "lat": unit["lat"] + 0.4, "lon": unit["lon"], "accuracy_m": 100_000,
             "device_time": now(), "kind": "out"}
    assert (await client.post(f"/api/v1/tasks/{task['id']}/check-ins", json=vague, headers=me)).json()["flags"] == ["poor_fix"]
    listed = (await client.get(f"/api/v1/tasks/{task['id']}/check-ins", headers=field.chief)).json()
    assert [c["kind"] for c in listed] == ["in", "out", "out"]
    assert_error(await client.post(f"/api/v1/tasks/{task['id']}/check-ins", json={**near, "id": str(uuid.uuid4())}, headers=field.outsider(task)), 404)


async def test_edit_until_submission_then_only_corrections(db, client, field):
    task = field.task("file_review")
    me = field.member(task)
    body = finding_body(task, FILE_RULE)
    created = (await client.post("/api/v1/findings", json=body, headers=me)).json()
    edited = await client.patch(f"/api/v1/findings/{body['id']}", json={"count": 3, "note": "复核后为三件"}, headers=me)
    assert edited.status_code == 200 and edited.json()["points"] == 3 and edited.json()["note"] == "复核后为三件"
    assert (await client.post(f"/api/v1/tasks/{task['id']}/submit", headers=me)).json()["status"] == "submitted"
    assert (await client.post(f"/api/v1/tasks/{task['id']}/submit", headers=me)).status_code == 200  # idempotent
    assert_error(await client.patch(f"/api/v1/findings/{body['id']}", json={"count": 1}, headers=me), 409, "TASK_SUBMITTED")
    assert_error(await client.post("/api/v1/findings", json=finding_body(task, FILE_RULE), headers=me), 409, "TASK_SUBMITTED")
    # A replay of the original create still answers the stored finding.
    assert (await client.post("/api/v1/findings", json=body, headers=me)).json()["id"] == created["id"]
    correction = finding_body(task, FILE_RULE, count=2, supersedes=body["id"], note="更正")
    r = await client.post("/api/v1/findings", json=correction, headers=me)
    assert r.status_code == 201, r.text
    assert_error(await client.post("/api/v1/findings", json=finding_body(task, FILE_RULE, supersedes=body["id"]), headers=me), 409, "ALREADY_SUPERSEDED")
    both = (await client.get(f"/api/v1/findings?task_id={task['id']}", headers=field.chief)).json()["items"]
    assert {f["id"]: f["superseded_by"] for f in both} == {body["id"]: correction["id"], correction["id"]: None}
    async with db() as s:
        statuses = dict((await s.execute(select(Deduction.finding_id, Deduction.status).where(Deduction.finding_id.is_not(None)))).all())
    assert statuses == {uuid.UUID(body["id"]): "rejected", uuid.UUID(correction["id"]): "proposed"}


async def test_a_superseded_finding_is_not_edited(client, field):
    task = field.task("file_review")
    me = field.member(task)
    first = finding_body(task, FILE_RULE)
    assert (await client.post("/api/v1/findings", json=first, headers=me)).status_code == 201
    fix = finding_body(task, FILE_RULE, count=2, supersedes=first["id"])
    assert (await client.post("/api/v1/findings", json=fix, headers=me)).status_code == 201
    body = assert_error(await client.patch(f"/api/v1/findings/{first['id']}", json={"count": 5}, headers=me),
                        409, "ALREADY_SUPERSEDED")
    assert body["details"] == {"superseded_by": fix["id"]}
    assert (await client.patch(f"/api/v1/findings/{fix['id']}", json={"count": 3}, headers=me)).json()["points"] == 3


async def test_a_decided_deduction_is_not_replaced_by_a_correction(db, client, field):
    # A correction after the chief's decision would add a second deduction for one fact, or
    # undo a rejection behind the chief's back.
    task = field.task("file_review")
    me = field.member(task)
    kept, dropped, later = (finding_body(task, FILE_RULE, note=n) for n in ("一件", "另一件", "第三件"))
    ids = {}
    for body in (kept, dropped, later):
        ids[body["id"]] = (await client.post("/api/v1/findings", json=body, headers=me)).json()["deduction_id"]
    await submit(client, field, task)
    # Deciding tells the unit: the file review's deductions wait for the draw's visit to it.
    assert_error(await client.post(f"/api/v1/deductions/{ids[kept['id']]}/decision", json={"action": "confirm"},
                                   headers=field.chief), 409, "VISITS_PENDING")
    await submit(client, field, next(t for t in field.tasks if t["unit_code"] == task["unit_code"] and t["kind"] == "field_visit"))

    async def decide(deduction_id, action):
        extra = {"reason": "不成立"} if action == "reject" else {}
        r = await client.post(f"/api/v1/deductions/{deduction_id}/decision", json={"action": action, **extra}, headers=field.chief)
        assert r.status_code == 200, r.text

    await decide(ids[kept["id"]], "confirm")
    await decide(ids[dropped["id"]], "reject")
    for target, status in ((kept, "confirmed"), (dropped, "rejected")):
        body = assert_error(await client.post("/api/v1/findings", json=finding_body(task, FILE_RULE, count=2, supersedes=target["id"]),
                                              headers=me), 409, "ALREADY_DECIDED")
        assert body["details"] == {"deduction_status": status}
    # One still proposed may be corrected: the correction goes to review in its place.
    fix = finding_body(task, FILE_RULE, count=2, supersedes=later["id"])
    made = await client.post("/api/v1/findings", json=fix, headers=me)
    assert made.status_code == 201, made.text
    async with db() as s:
        standing = (await s.execute(select(Deduction.finding_id, Deduction.status).where(
            Deduction.status != "rejected", Deduction.finding_id.is_not(None)))).all()
    assert sorted((str(f), st) for f, st in standing) == sorted([(kept["id"], "confirmed"), (fix["id"], "proposed")])
    # Deciding the last proposed deduction closes the review: the task's findings are final.
    assert (await client.get(f"/api/v1/tasks/{task['id']}", headers=field.chief)).json()["status"] == "submitted"
    await decide(made.json()["deduction_id"], "confirm")
    assert (await client.get(f"/api/v1/tasks/{task['id']}", headers=field.chief)).json()["status"] == "reviewed"
    assert_error(await client.post("/api/v1/findings", json=finding_body(task, FILE_RULE, supersedes=fix["id"]),
                                   headers=me), 409, "TASK_REVIEWED")


async def test_sync_answers_each_operation_and_is_safe_to_repeat(db, client, field):
    task = field.task("file_review")
    me = field.member(task)
    good = finding_body(task, FILE_RULE)
    ops = [
        {"op": "check_in", "task_id": task["id"], "check_in": {"id": str(uuid.uuid4()), "lat": 22.8, "lon": 113.7, "accuracy_m": 5, "device_time": now()}},
        {"op": "finding", "finding": good},
        {"op": "finding", "finding": finding_body(task, "no.such.rule")},
        {"op": "finding", "finding": {"id": "not-a-uuid"}},
        {"op": "teleport"},
        {"op": "finding", "finding": finding_body(task, FILE_RULE, count=2)},
        {"op": "submit", "task_id": task["id"]},
        {"op": "finding", "finding": finding_body(task, FILE_RULE)},
    ]
    r = await client.post("/api/v1/sync", json={"operations": ops}, headers=me)
    assert r.status_code == 200, r.text
    statuses = [x["status"] for x in r.json()["results"]]
    assert statuses == [201, 201, 422, 422, 422, 201, 200, 409]
    assert abs(datetime.fromisoformat(r.json()["server_time"]) - datetime.now(timezone.utc)) < timedelta(seconds=30)
    again = await client.post("/api/v1/sync", json={"operations": ops[:2] + ops[5:7]}, headers=me)
    assert [x["status"] for x in again.json()["results"]] == [200, 200, 200, 200]
    async with db() as s:
        assert (await s.execute(select(func.count()).select_from(Finding))).scalar_one() == 2
    assert_error(await client.post("/api/v1/sync", json={"operations": [{"op": "submit", "task_id": task["id"]}] * 501}, headers=me), 422)
    assert_error(await client.post("/api/v1/sync", json={"operations": ops}, headers=field.chief), 403)


async def test_a_full_batch_of_long_chinese_notes_fits(db, client, field):
    # 500 findings with 2,000-character notes: 3 MB, past the 1 MB of a single call.
    task = field.task("file_review")
    me = field.member(task)
    note = "现场检查发现经营者未按规定公示营业执照，" * 100
    ops = [{"op": "finding", "finding": finding_body(task, FILE_RULE, note=note[:2000])} for _ in range(500)]
    r = await client.post("/api/v1/sync", json={"operations": ops}, headers=me)
    assert r.status_code == 200, r.text[:300]
    assert {x["status"] for x in r.json()["results"]} == {201}


async def test_concurrent_creates_never_double(db, client, field):
    task = field.task("file_review")
    me = field.member(task)
    bodies = [finding_body(task, FILE_RULE) for _ in range(60)]
    sends = [client.post("/api/v1/findings", json=b, headers=me) for b in bodies + bodies[:30]]
    results = await asyncio.gather(*sends)
    assert sorted(r.status_code for r in results) == [200] * 30 + [201] * 60
    async with db() as s:
        assert (await s.execute(select(func.count()).select_from(Finding))).scalar_one() == 60
        assert (await s.execute(select(func.count()).select_from(Deduction).where(Deduction.finding_id.is_not(None)))).scalar_one() == 60


async def test_task_list_for_phones_is_conditional_and_incremental(client, field):
    task = field.task("field_visit")
    me = field.member(task)
    first = await client.get("/api/v1/me/tasks", headers=me)
    etag = first.headers["etag"]
    assert first.status_code == 200 and first.json()["items"] and first.json()["next_since"]
    unchanged = await client.get("/api/v1/me/tasks", headers={**me, "If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    since = first.json()["next_since"]
    await asyncio.sleep(5.2)  # beyond the re-send window, so only the change below comes back
    check_in = {"id": str(uuid.uuid4()), "lat": 22.8, "lon": 113.7, "accuracy_m": 5, "device_time": now()}
    assert (await client.post(f"/api/v1/tasks/{task['id']}/check-ins", json=check_in, headers=me)).status_code == 201
    changed = await client.get("/api/v1/me/tasks", headers={**me, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    delta = (await client.get("/api/v1/me/tasks", params={"since": since}, headers=me)).json()
    assert [t["id"] for t in delta["items"]] == [task["id"]] and delta["items"][0]["status"] == "in_progress"
    # The tag in its strong form, or in a list, is the same version (RFC 9110's weak comparison).
    tag = changed.headers["etag"].removeprefix("W/")
    for header in (tag, f'"other", {changed.headers["etag"]}', "*"):
        assert (await client.get("/api/v1/me/tasks", headers={**me, "If-None-Match": header})).status_code == 304, header
    # A phone's local time (no offset) or a time ahead of the server is no cursor: it would
    # skip every change until the server's clock caught up.
    local = datetime.now(timezone(timedelta(hours=8))).replace(tzinfo=None).isoformat(timespec="seconds")
    ahead = (datetime.now(timezone.utc) + timedelta(hours=8)).isoformat()
    for cursor in (local, ahead):
        body = assert_error(await client.get("/api/v1/me/tasks", params={"since": cursor}, headers=me), 422)
        assert body["details"][0]["path"] == "query.since"


async def test_units_see_none_of_the_field_work(db, client, field):
    task = field.task("file_review")
    await client.post("/api/v1/findings", json=finding_body(task, FILE_RULE), headers=field.member(task))
    await add_user(db, "unit1", "unit", unit_code=task["unit_code"])
    unit = await login(client, "unit1")
    assert_error(await client.get("/api/v1/findings", headers=unit), 403)
    assert_error(await client.get(f"/api/v1/tasks/{task['id']}/check-ins", headers=unit), 403)
    assert_error(await client.post("/api/v1/sync", json={"operations": [{"op": "submit", "task_id": task["id"]}]}, headers=unit), 403)
    outsider_view = (await client.get(f"/api/v1/findings?task_id={task['id']}", headers=field.outsider(task))).json()
    assert outsider_view["total"] == 0
