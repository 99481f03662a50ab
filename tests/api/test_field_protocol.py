"""The offline protocol's promises (docs/field-protocol.md) at their edges: times no clock
can mean, corrections queued behind what they correct, malformed items in a batch,
repeats by someone outside the team, repeats in another notation, and a task list whose
ETag must follow everything it shows."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from api.models_field import Finding
from api.models_scoring import Deduction
from tests.support.api import assert_error
from tests.support.field import field_setup, finding_body, now

FILE_RULE = "registration.file_quality.beyond_time_limit"
VISIT_RULE = "inspection.window_conduct"
BEYOND_UTC = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"]


@pytest.fixture
async def field(app, db, client):
    return await field_setup(app, db, client)


def check_in_body(**extra):
    return {"id": str(uuid.uuid4()), "lat": 22.8, "lon": 113.7, "accuracy_m": 5, "device_time": now(), **extra}


async def test_times_that_no_clock_can_mean_are_refused_not_failed(db, client, field):
    task = field.task("field_visit")
    me = field.member(task)
    for when in BEYOND_UTC:
        refused = assert_error(await client.post("/api/v1/findings", json=finding_body(task, VISIT_RULE, recorded_at=when), headers=me), 422)
        assert refused["details"][0]["path"] == "$.recorded_at", refused
        refused = assert_error(await client.post(f"/api/v1/tasks/{task['id']}/check-ins", json=check_in_body(device_time=when), headers=me), 422)
        assert refused["details"][0]["path"] == "$.device_time", refused
        assert_error(await client.get("/api/v1/me/tasks", params={"since": when}, headers=me), 422)
    good = finding_body(task, VISIT_RULE)
    ops = [{"op": "finding", "finding": finding_body(task, VISIT_RULE, recorded_at=BEYOND_UTC[0])}, {"op": "finding", "finding": good}]
    answer = await client.post("/api/v1/sync", json={"operations": ops}, headers=me)
    assert answer.status_code == 200, answer.text
    first, second = answer.json()["results"]
    assert (first["status"], first["error"]["details"][0]["path"], second["status"]) == (422, "$.finding.recorded_at", 201)
    async with db() as s:
        assert (await s.execute(select(Finding.id))).scalars().all() == [uuid.UUID(good["id"])]


async def test_a_correction_may_travel_in_the_batch_of_what_it_corrects(db, client, field):
    task = field.task("file_review")
    me = field.member(task)
    original = finding_body(task, FILE_RULE, count=1)
    correction = finding_body(task, FILE_RULE, count=2, supersedes=original["id"], note="更正")
    twice = finding_body(task, FILE_RULE, supersedes=original["id"])
    ops = [{"op": "finding", "finding": b} for b in (original, correction, twice)] + [{"op": "submit", "task_id": task["id"]}]
    answer = (await client.post("/api/v1/sync", json={"operations": ops}, headers=me)).json()["results"]
    assert [r["status"] for r in answer] == [201, 201, 409, 200], answer
    assert answer[2]["error"]["code"] == "ALREADY_SUPERSEDED"
    async with db() as s:
        rows = dict((await s.execute(select(Finding.id, Finding.superseded_by))).all())
        statuses = dict((await s.execute(select(Deduction.finding_id, Deduction.status).where(Deduction.finding_id.is_not(None)))).all())
    assert rows == {uuid.UUID(original["id"]): uuid.UUID(correction["id"]), uuid.UUID(correction["id"]): None}
    assert statuses == {uuid.UUID(original["id"]): "rejected", uuid.UUID(correction["id"]): "proposed"}
    # Repeated after a dropped connection, the batch changes nothing and answers the same.
    again = (await client.post("/api/v1/sync", json={"operations": ops[:2]}, headers=me)).json()["results"]
    assert [r["status"] for r in again] == [200, 200]
    assert again[0]["result"]["superseded_by"] == correction["id"]


async def test_an_item_that_is_not_an_operation_fails_alone(db, client, field):
    task = field.task("file_review")
    me = field.member(task)
    good = finding_body(task, FILE_RULE)
    ops = [None, {"op": "finding", "finding": good}, 5, "finding", [], {"op": 1}]
    answer = await client.post("/api/v1/sync", json={"operations": ops}, headers=me)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [(r["index"], r["status"]) for r in results] == [(0, 422), (1, 201), (2, 422), (3, 422), (4, 422), (5, 422)]
    assert [r["error"]["details"][0]["path"] for r in results if r["status"] == 422] == ["$", "$", "$", "$", "$.op"]
    assert {r["error"]["code"] for r in results if r["status"] == 422} == {"VALIDATION_ERROR"}
    assert results[5]["op"] is None
    async with db() as s:
        assert (await s.execute(select(Finding.id))).scalars().all() == [uuid.UUID(good["id"])]


async def test_sync_reads_an_item_as_the_single_call_reads_it(client, field):
    task = field.task("file_review")
    me = field.member(task)
    single = await client.post("/api/v1/findings", json=finding_body(task, FILE_RULE, count="2"), headers=me)
    in_sync = await client.post("/api/v1/sync", json={"operations": [
        {"op": "finding", "finding": finding_body(task, FILE_RULE, count="2")},
        {"op": "finding", "finding": finding_body(task, "no.such.rule")},
        {"op": "finding", "finding": {k: v for k, v in finding_body(task, FILE_RULE).items() if k != "recorded_at"}},
        {"op": "check_in", "task_id": task["id"], "check_in": check_in_body(lat=91)},
    ]}, headers=me)
    results = in_sync.json()["results"]
    assert (single.status_code, results[0]["status"]) == (single.status_code, single.status_code)
    # Paths start at the operation, whichever check refused it.
    assert [r["error"]["details"][0]["path"] for r in results[1:]] == ["$.finding.indicator", "$.finding.recorded_at", "$.check_in.lat"]
    # A message that names the path names the same one as the details.
    assert "$.finding.indicator" in results[1]["error"]["message"] and ": $.indicator" not in results[1]["error"]["message"]


async def test_a_repeat_answers_only_someone_on_the_team(client, field):
    task = field.task("field_visit")
    me, outsider = field.member(task), field.outsider(task)
    finding = finding_body(task, VISIT_RULE)
    check_in = check_in_body()
    assert (await client.post("/api/v1/findings", json=finding, headers=me)).status_code == 201
    assert (await client.post(f"/api/v1/tasks/{task['id']}/check-ins", json=check_in, headers=me)).status_code == 201
    assert_error(await client.post("/api/v1/findings", json=finding, headers=outsider), 404)
    assert_error(await client.post(f"/api/v1/tasks/{task['id']}/check-ins", json=check_in, headers=outsider), 404)
    ops = [{"op": "finding", "finding": finding}, {"op": "check_in", "task_id": task["id"], "check_in": check_in}]
    assert [r["status"] for r in (await client.post("/api/v1/sync", json={"operations": ops}, headers=outsider)).json()["results"]] == [404, 404]
    # Editing another team's finding looks exactly like editing one that does not exist.
    theirs = assert_error(await client.patch(f"/api/v1/findings/{finding['id']}", json={"count": 2}, headers=outsider), 404)
    ghost = assert_error(await client.patch(f"/api/v1/findings/{uuid.uuid4()}", json={"count": 2}, headers=outsider), 404)
    assert (theirs["code"], theirs["message"]) == (ghost["code"], ghost["message"]) and task["id"] not in str(theirs)
    # The team still gets its repeats.
    assert (await client.post("/api/v1/findings", json=finding, headers=me)).status_code == 200


async def test_a_repeat_answers_what_the_first_call_answered(client, field):
    task = field.task("field_visit")
    me = field.member(task)
    finding = finding_body(task, VISIT_RULE, recorded_at="2026-11-21T09:20:00+08:00")
    first = await client.post("/api/v1/findings", json=finding, headers=me)
    again = await client.post("/api/v1/findings", json=finding, headers=me)
    assert (first.status_code, again.status_code) == (201, 200) and again.json() == first.json()
    # The same instant written another way is the same finding, not a reused id.
    utc = await client.post("/api/v1/findings", json={**finding, "recorded_at": "2026-11-21T01:20:00Z"}, headers=me)
    assert utc.status_code == 200 and utc.json() == first.json()
    check_in = check_in_body(device_time="2026-11-21T09:00:00+08:00")
    first = await client.post(f"/api/v1/tasks/{task['id']}/check-ins", json=check_in, headers=me)
    again = await client.post(f"/api/v1/tasks/{task['id']}/check-ins", json={**check_in, "device_time": "2026-11-21T01:00:00Z"}, headers=me)
    assert (first.status_code, again.status_code) == (201, 200) and again.json() == first.json()


async def test_the_task_list_etag_follows_the_unit_names_it_shows(client, field):
    task = field.task("field_visit")
    me = field.member(task)
    first = await client.get("/api/v1/me/tasks", headers=me)
    etag = first.headers["etag"]
    renamed = await client.patch(f"/api/v1/units/{task['unit_code']}", json={"name": "东莞市测试更名食品店"}, headers=field.chief)
    assert renamed.status_code == 200, renamed.text
    after = await client.get("/api/v1/me/tasks", headers={**me, "If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert {t["unit_name"] for t in after.json()["items"] if t["unit_code"] == task["unit_code"]} == {"东莞市测试更名食品店"}


async def test_bodies_that_miss_a_field_or_are_empty_say_which(client, field):
    task = field.task("file_review")
    me = field.member(task)
    missing = {k: v for k, v in finding_body(task, FILE_RULE).items() if k != "recorded_at"}
    refused = assert_error(await client.post("/api/v1/findings", json=missing, headers=me), 422)
    assert refused["details"][0]["path"] == "$.recorded_at", refused
    empty = assert_error(await client.post("/api/v1/findings", content=b"", headers={**me, "content-type": "application/json"}), 422)
    assert "'data'" not in empty["message"], empty
