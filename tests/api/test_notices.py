"""Telling the unit: a standing deduction is shown to its unit with its basis and photos, the
3-working-day notice deadline skips weekends and holidays, unread ones are listed overdue."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from api.models_review import Notice
from api.settings import Settings, SettingsError
from api.workdays import add_working_days, china_date, parse_holidays
from tests.support.api import add_user, assert_error, login
from tests.support.evidence import evidence_settings, photo, upload
from tests.support.field import field_setup, finding_body, submit

PERIOD = "2026-H2"
VISIT_RULE = "inspection.window_conduct"
HOLIDAYS = "2026-11-23,2026-12-25"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return evidence_settings(database_url, tmp_path, holidays=HOLIDAYS)


@pytest.fixture
async def field(app, db, client):
    return await field_setup(app, db, client)


def test_working_days_skip_weekends_and_holidays():
    friday = date(2026, 11, 20)
    assert add_working_days(friday, 3) == date(2026, 11, 25)
    assert add_working_days(friday, 3, parse_holidays("2026-11-23")) == date(2026, 11, 26)
    assert add_working_days(date(2026, 11, 21), 1) == date(2026, 11, 23)  # Saturday -> Monday
    assert add_working_days(friday, 0) == friday
    assert parse_holidays(" 2026-10-01, ,2026-10-02") == {date(2026, 10, 1), date(2026, 10, 2)}
    assert Settings.from_env({"SPOTCHECK_HOLIDAYS": HOLIDAYS, "SPOTCHECK_SECRET_KEY": "k" * 32}).holiday_dates == \
        {date(2026, 11, 23), date(2026, 12, 25)}
    for bad in ("2026-02-30", "tomorrow", "2026-10-01;2026-10-02"):
        with pytest.raises(SettingsError, match="SPOTCHECK_HOLIDAYS"):
            Settings.from_env({"SPOTCHECK_HOLIDAYS": bad, "SPOTCHECK_SECRET_KEY": "k" * 32})


async def _standing(client, field):
    """A finding with a photo on an office's visit, confirmed by the chief."""
    task = field.task("field_visit")
    filed = await upload(client, field.member(task), photo(11), task_id=task["id"])
    assert filed.status_code == 201, filed.text
    body = finding_body(task, VISIT_RULE, note="窗口无人", evidence_ids=[filed.json()["id"]])
    finding = (await client.post("/api/v1/findings", json=body, headers=field.member(task))).json()
    await submit(client, field, task)
    return task, finding, filed.json()["id"]


async def test_the_unit_sees_its_standing_deductions_and_their_photos(db, client, field):
    task, finding, evidence_id = await _standing(client, field)
    await add_user(db, "own", "unit", task["unit_code"])
    other_code = next(t["unit_code"] for t in field.tasks if t["unit_code"] != task["unit_code"] and t["kind"] == "field_visit")
    await add_user(db, "other", "unit", other_code)
    own, other = await login(client, "own"), await login(client, "other")
    # Proposed only: nothing to see yet, the photo neither.
    assert (await client.get("/api/v1/me/deductions", headers=own)).json()["total"] == 0
    assert_error(await client.get(f"/api/v1/evidence/{evidence_id}", headers=own), 404)
    decided = await client.post(f"/api/v1/deductions/{finding['deduction_id']}/decision",
                                json={"action": "adjust", "points": 0.5, "reason": "情节轻微"}, headers=field.chief)
    assert decided.status_code == 200, decided.text
    decided_at = decided.json()["decided_at"]

    page = (await client.get(f"/api/v1/me/deductions?period={PERIOD}", headers=own)).json()
    mine = [i for i in page["items"] if i["deduction_id"] == finding["deduction_id"]]
    assert len(mine) == 1 and page["total"] == 1
    item = mine[0]
    assert (item["indicator"], item["rule_points"], item["points"], item["status"]) == (VISIT_RULE, 1, 0.5, "adjusted")
    assert (item["note"], item["evidence_ids"], item["reason"]) == ("窗口无人", [evidence_id], "情节轻微")
    expected = add_working_days(china_date(datetime.fromisoformat(decided_at)), 3, parse_holidays(HOLIDAYS))
    assert item["notify_by"] == expected.isoformat() and item["notified_at"]
    assert (await client.get(f"/api/v1/evidence/{evidence_id}", headers=own)).status_code == 200
    assert (await client.get(f"/api/v1/evidence/{evidence_id}/thumbnail", headers=own)).status_code == 200
    assert [e["id"] for e in (await client.get("/api/v1/evidence", headers=own)).json()["items"]] == [evidence_id]
    # Another unit sees neither the deduction nor the photo.
    assert (await client.get("/api/v1/me/deductions", headers=other)).json()["total"] == 0
    assert_error(await client.get(f"/api/v1/evidence/{evidence_id}", headers=other), 404)
    assert (await client.get("/api/v1/me/deductions?period=nope", headers=own)).json()["total"] == 0


async def test_unread_notices_past_their_deadline_are_overdue_until_read(db, client, field):
    task, finding, _ = await _standing(client, field)
    r = await client.post(f"/api/v1/deductions/{finding['deduction_id']}/decision", json={"action": "confirm"}, headers=field.chief)
    assert r.status_code == 200, r.text
    overdue = "/api/v1/deductions/notice-overdue"
    assert (await client.get(overdue, headers=field.chief)).json()["total"] == 0  # not due yet
    async with db() as session:
        await session.execute(update(Notice).values(notify_by=date.today() - timedelta(days=2)))
        await session.commit()
    listed = (await client.get(f"{overdue}?period={PERIOD}&unit_code={task['unit_code']}", headers=field.chief)).json()
    assert [i["deduction_id"] for i in listed["items"]] == [finding["deduction_id"]]
    assert listed["items"][0]["days_overdue"] >= 1 and listed["items"][0]["unit_code"] == task["unit_code"]
    assert (await client.get(f"{overdue}?unit_code=NOPE", headers=field.chief)).json()["total"] == 0
    await add_user(db, "own", "unit", task["unit_code"])
    own = await login(client, "own")
    assert (await client.get("/api/v1/me/deductions", headers=own)).json()["total"] == 1
    assert (await client.get(overdue, headers=field.chief)).json()["total"] == 0
    async with db() as session:
        notice = (await session.execute(select(Notice))).scalar_one()
    assert notice.notified_by == "own" and notice.notified_at is not None
    # Roles: the unit's list is for unit accounts, the overdue list for chiefs and admins.
    for headers in (field.chief, field.member(task)):
        assert_error(await client.get("/api/v1/me/deductions", headers=headers), 403, "FORBIDDEN")
    for headers in (own, field.member(task)):
        assert_error(await client.get(overdue, headers=headers), 403, "FORBIDDEN")
