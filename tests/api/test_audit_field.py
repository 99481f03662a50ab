"""Field work is audited through the group-commit writer: each stored check-in, finding,
edit, submission and photo leaves its events with the X-Request-ID of the request that
queued it (single calls and POST /sync alike); repeats and refusals leave none."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest

from tests.support.api import assert_error
from tests.support.audit import Event, Log
from tests.support.evidence import CST, digest, evidence_settings, photo, upload
from tests.support.field import field_setup, finding_body, now, unit_position

FILE_RULE = "registration.file_quality.beyond_time_limit"
VISIT_RULE = "inspection.window_conduct"


@pytest.fixture
def settings(database_url, tmp_path):
    return evidence_settings(database_url, tmp_path)


@pytest.fixture
async def field(app, db, client):
    return await field_setup(app, db, client)


async def test_a_visit_is_audited_step_by_step(db, client, field):
    task = field.task("field_visit")
    me, name = field.member(task), task["team"][0]
    lat, lon = unit_position(task["unit_code"])
    log = await Log(db).start()

    check_in = {"id": str(uuid.uuid4()), "lat": lat, "lon": lon, "accuracy_m": 10, "device_time": now()}
    r = await client.post(f"/api/v1/tasks/{task['id']}/check-ins", json=check_in, headers=me)
    assert r.status_code == 201, r.text
    rid = r.headers["x-request-id"]
    assert await log.new() == [
        Event(name, "check_in.created", "check_in", check_in["id"], None,
              {"task_id": task["id"], "kind": "in", "distance_m": 0.0, "flags": []}, rid),
        Event(name, "task.started", "task", task["id"], {"status": "assigned"}, {"status": "in_progress"}, rid),
    ]
    assert (await client.post(f"/api/v1/tasks/{task['id']}/check-ins", json=check_in, headers=me)).status_code == 200
    assert await log.new() == []  # a repeated check-in changes nothing

    body = photo(3, taken=datetime.now(CST).replace(tzinfo=None, microsecond=0), gps=(lat, lon))
    filed = await upload(client, me, body, task_id=task["id"])
    assert filed.status_code == 201, filed.text
    evidence = filed.json()["id"]
    [uploaded] = await log.new()
    assert (uploaded.actor, uploaded.action, uploaded.object_type, uploaded.object_id, uploaded.before, uploaded.request_id) == (
        name, "evidence.uploaded", "evidence", evidence, None, filed.headers["x-request-id"])
    assert {k: uploaded.after[k] for k in ("task_id", "sha256", "size", "ledger_seq")} == {
        "task_id": task["id"], "sha256": digest(body), "size": len(body), "ledger_seq": filed.json()["receipt"]["index"]}

    finding = finding_body(task, VISIT_RULE, evidence_ids=[evidence], note="窗口无人")
    r = await client.post("/api/v1/findings", json=finding, headers=me)
    assert r.status_code == 201, r.text
    rid, stored = r.headers["x-request-id"], r.json()
    assert await log.new() == [
        Event(name, "finding.created", "finding", finding["id"], None,
              {"task_id": task["id"], "indicator": VISIT_RULE, "count": 1, "note": "窗口无人", "evidence_ids": [evidence],
               "charged_unit": stored["charged_unit"], "deduction_id": stored["deduction_id"], "points": stored["points"]}, rid),
        Event(name, "evidence.attached", "evidence", evidence, None, {"finding_id": finding["id"], "task_id": task["id"]}, rid),
    ]
    assert (await client.post("/api/v1/findings", json=finding, headers=me)).status_code == 200
    replays = await asyncio.gather(*(client.post("/api/v1/findings", json=finding, headers=me) for _ in range(8)))
    assert {r.status_code for r in replays} == {200}
    assert await log.new() == []  # replays, one by one or in one batch, record nothing

    r = await client.patch(f"/api/v1/findings/{finding['id']}", json={"note": "窗口无人值守", "evidence_ids": []}, headers=me)
    assert r.status_code == 200, r.text
    rid = r.headers["x-request-id"]
    assert await log.new() == [
        Event(name, "finding.edited", "finding", finding["id"], {"note": "窗口无人", "evidence_ids": [evidence]},
              {"note": "窗口无人值守", "evidence_ids": []}, rid),
        Event(name, "evidence.detached", "evidence", evidence, {"finding_id": finding["id"], "task_id": task["id"]}, None, rid),
    ]
    assert (await client.patch(f"/api/v1/findings/{finding['id']}", json={"note": "窗口无人值守"}, headers=me)).status_code == 200
    assert_error(await client.post("/api/v1/findings", json=finding_body(task, "no.such.rule"), headers=me), 422)
    assert_error(await client.post("/api/v1/findings", json=finding_body(task, VISIT_RULE), headers=field.outsider(task)), 404)
    assert_error(await client.patch(f"/api/v1/findings/{finding['id']}", json={"count": 2}, headers=field.outsider(task)), 404)
    assert await log.new() == []  # an edit that changes nothing, and refusals, record nothing

    r = await client.post(f"/api/v1/tasks/{task['id']}/submit", headers=me)
    assert r.status_code == 200, r.text
    assert await log.new() == [Event(name, "task.submitted", "task", task["id"], {"status": "in_progress"},
                                     {"status": "submitted"}, r.headers["x-request-id"])]
    assert (await client.post(f"/api/v1/tasks/{task['id']}/submit", headers=me)).status_code == 200
    assert_error(await client.patch(f"/api/v1/findings/{finding['id']}", json={"count": 2}, headers=me), 409)
    assert await log.new() == []

    correction = finding_body(task, VISIT_RULE, supersedes=finding["id"], count=2)
    r = await client.post("/api/v1/findings", json=correction, headers=me)
    assert r.status_code == 201, r.text
    created, superseded = await log.new()
    assert (created.action, created.object_id, created.after["supersedes"]) == ("finding.created", correction["id"], finding["id"])
    assert superseded == Event(name, "finding.superseded", "finding", finding["id"],
                               {"superseded_by": None, "deduction_status": "proposed"},
                               {"superseded_by": correction["id"], "deduction_status": "rejected"}, r.headers["x-request-id"])


async def test_sync_is_audited_with_its_request_id_and_repeats_record_nothing(db, client, field):
    task = field.task("file_review")
    me, name = field.member(task), task["team"][0]
    check_in = {"id": str(uuid.uuid4()), "lat": 22.8, "lon": 113.7, "accuracy_m": 5, "device_time": now()}
    finding = finding_body(task, FILE_RULE)
    ops = [{"op": "check_in", "task_id": task["id"], "check_in": check_in}, {"op": "finding", "finding": finding},
           {"op": "finding", "finding": finding_body(task, "no.such.rule")}, {"op": "submit", "task_id": task["id"]}]
    log = await Log(db).start()
    r = await client.post("/api/v1/sync", json={"operations": ops}, headers={**me, "X-Request-ID": "phone-sync-0001"})
    assert [x["status"] for x in r.json()["results"]] == [201, 201, 422, 200]
    events = await log.new()
    assert [(e.action, e.object_id) for e in events] == [
        ("check_in.created", check_in["id"]), ("task.started", task["id"]), ("finding.created", finding["id"]),
        ("task.submitted", task["id"])]
    assert {(e.actor, e.request_id) for e in events} == {(name, "phone-sync-0001")}
    again = await client.post("/api/v1/sync", json={"operations": ops}, headers={**me, "X-Request-ID": "phone-sync-0002"})
    assert [x["status"] for x in again.json()["results"]] == [200, 200, 409, 200]  # the task is submitted now
    assert await log.new() == []


async def test_a_resumable_upload_is_audited_when_it_completes(db, client, field):
    task = field.task("field_visit")
    me, name = field.member(task), task["team"][0]
    body = photo(5)
    tus = {"Tus-Resumable": "1.0.0"}
    log = await Log(db).start()
    created = await client.post("/api/v1/uploads", headers={**me, **tus, "Upload-Length": str(len(body))})
    assert created.status_code == 201, created.text
    location, half = created.headers["location"], len(body) // 2
    chunk = {**me, **tus, "Content-Type": "application/offset+octet-stream"}
    assert (await client.patch(location, content=body[:half], headers={**chunk, "Upload-Offset": "0"})).status_code == 204
    assert await log.new() == []  # bytes in transit are not yet evidence
    last = await client.patch(location, content=body[half:], headers={**chunk, "Upload-Offset": str(half)})
    assert last.status_code == 204, last.text
    [filed] = await log.new()
    assert (filed.actor, filed.action, filed.after["sha256"], filed.request_id) == (
        name, "evidence.uploaded", digest(body), last.headers["x-request-id"])


async def test_flags_changed_by_the_check_in_are_audited_when_a_finding_cites_the_photo(db, client, field):
    task = field.task("field_visit")
    me, name = field.member(task), task["team"][0]
    lat, lon = unit_position(task["unit_code"])
    two_days_ago = (datetime.now(CST) - timedelta(days=2)).replace(tzinfo=None, microsecond=0)
    filed = await upload(client, me, photo(7, taken=two_days_ago, gps=(lat, lon)), task_id=task["id"])
    assert filed.status_code == 201, filed.text
    check_in = {"id": str(uuid.uuid4()), "lat": lat, "lon": lon, "accuracy_m": 10, "device_time": now()}
    assert (await client.post(f"/api/v1/tasks/{task['id']}/check-ins", json=check_in, headers=me)).status_code == 201
    log = await Log(db).start()
    finding = finding_body(task, VISIT_RULE, evidence_ids=[filed.json()["id"]])
    r = await client.post("/api/v1/findings", json=finding, headers=me)
    assert r.status_code == 201, r.text
    created, attached, flagged = await log.new()
    assert (created.action, attached.action) == ("finding.created", "evidence.attached")
    assert (flagged.actor, flagged.action, flagged.object_id, flagged.request_id) == (
        name, "evidence.flags_changed", filed.json()["id"], r.headers["x-request-id"])
    assert "captured_outside_visit" in set(flagged.after["flags"]) - set(flagged.before["flags"])
