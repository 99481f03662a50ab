"""Photos cited by findings: only photos filed for the task, re-checked against the visit."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from api.settings import Settings
from tests.conftest import TEST_SECRET
from tests.support.api import assert_error
from tests.support.evidence import photo, upload
from tests.support.field import field_setup, finding_body, now, unit_position

VISIT_RULE = "inspection.window_conduct"


@pytest.fixture
def settings(database_url, tmp_path):
    return Settings(data_dir=str(tmp_path / "data"), database_url=database_url, secret_key=TEST_SECRET, evidence_workers=1)


@pytest.fixture
async def field(app, db, client):
    return await field_setup(app, db, client)


async def test_cited_photos_are_checked_against_the_checked_in_visit(client, field):
    task = field.task("field_visit")
    me = field.member(task)
    lat, lon = unit_position(task["unit_code"])
    two_days_ago = (datetime.now(timezone(timedelta(hours=8))) - timedelta(days=2)).replace(tzinfo=None, microsecond=0)
    filed = await upload(client, me, photo(7, taken=two_days_ago, gps=(lat, lon)), task_id=task["id"])
    assert filed.status_code == 201, filed.text
    before = {f["code"] for f in filed.json()["flags"]}
    assert "captured_outside_visit" not in before  # inside the task's due window
    check_in = {"id": str(uuid.uuid4()), "lat": lat, "lon": lon, "accuracy_m": 10, "device_time": now()}
    assert (await client.post(f"/api/v1/tasks/{task['id']}/check-ins", json=check_in, headers=me)).status_code == 201
    finding = finding_body(task, VISIT_RULE, evidence_ids=[filed.json()["id"]], note="窗口服务不规范")
    created = await client.post("/api/v1/findings", json=finding, headers=me)
    assert created.status_code == 201, created.text
    assert created.json()["evidence_ids"] == [filed.json()["id"]]
    after = (await client.get(f"/api/v1/evidence/{filed.json()['id']}", headers=field.chief)).json()
    assert "captured_outside_visit" in {f["code"] for f in after["flags"]}  # taken two days before the check-in


async def test_a_photo_reused_from_another_visit_is_flagged(client, field):
    visits = [t for t in field.tasks if t["kind"] == "field_visit"]
    first, second = visits[0], next(t for t in visits[1:] if t["unit_code"] != visits[0]["unit_code"])
    body = photo(11)
    assert (await upload(client, field.member(first), body, task_id=first["id"])).status_code == 201
    again = await upload(client, field.member(second), body, task_id=second["id"])
    assert again.status_code == 201, again.text
    cited = await client.post("/api/v1/findings", json=finding_body(second, VISIT_RULE, evidence_ids=[again.json()["id"]]),
                              headers=field.member(second))
    assert cited.status_code == 201, cited.text
    flags = (await client.get(f"/api/v1/evidence/{again.json()['id']}", headers=field.chief)).json()["flags"]
    assert "reused_exact" in {f["code"] for f in flags}


async def test_only_photos_of_the_task_can_be_cited(client, field):
    visits = [t for t in field.tasks if t["kind"] == "field_visit"]
    task, other = visits[0], visits[1]
    elsewhere = await upload(client, field.member(other), photo(21), task_id=other["id"])
    assert elsewhere.status_code == 201
    me = field.member(task)
    wrong = assert_error(await client.post("/api/v1/findings", json=finding_body(task, VISIT_RULE, evidence_ids=[elsewhere.json()["id"]]), headers=me), 422)
    assert wrong["details"][0]["path"] == "$.evidence_ids[0]"
    ghost = assert_error(await client.post("/api/v1/findings", json=finding_body(task, VISIT_RULE, evidence_ids=[str(uuid.uuid4())]), headers=me), 422)
    assert "no photo" in ghost["details"][0]["message"]
    # Another team's photo answers as an unknown one: its id tells nothing.
    assert wrong["details"] == ghost["details"]
    mine = await upload(client, me, photo(22), task_id=task["id"])
    twice = assert_error(await client.post("/api/v1/findings", json=finding_body(
        task, VISIT_RULE, evidence_ids=[mine.json()["id"]] * 2), headers=me), 422)
    assert twice["details"][0]["path"] == "$.evidence_ids"
