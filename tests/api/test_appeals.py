"""Appeals: filed by the unit within the window, answered by another chief, the deduction and
the scores follow the outcome, unanswered ones are overdue, every step is in the ledger."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, update

from api.models_review import Appeal, Notice
from api.models_scoring import Deduction
from api.settings import Settings
from tests.support.api import add_user, assert_error, login
from tests.support.evidence import evidence_settings, photo, upload
from tests.support.field import field_setup, finding_body

VISIT_RULE = "inspection.window_conduct"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return evidence_settings(database_url, tmp_path, appeal_window_days=5, appeal_answer_days=10)


@pytest.fixture
async def field(app, db, client):
    return await field_setup(app, db, client)


async def _standing(db, client, field, count=1):
    """``count`` confirmed deductions (with a photo) against an office, and that office's account."""
    task = field.task("field_visit")
    filed = await upload(client, field.member(task), photo(5), task_id=task["id"])
    ids = []
    for _ in range(count):
        body = finding_body(task, VISIT_RULE, evidence_ids=[filed.json()["id"]])
        finding = (await client.post("/api/v1/findings", json=body, headers=field.member(task))).json()
        r = await client.post(f"/api/v1/deductions/{finding['deduction_id']}/decision", json={"action": "confirm"},
                              headers=field.chief)
        assert r.status_code == 200, r.text
        ids.append(finding["deduction_id"])
    await add_user(db, "own", "unit", task["unit_code"])
    await add_user(db, "chief2", "chief")
    return task, ids, filed.json()["id"], await login(client, "own"), await login(client, "chief2")


async def test_appeal_is_answered_and_the_deduction_follows(db, client, field):
    task, (overturn, partial, uphold), photo_id, unit, chief2 = await _standing(db, client, field, 3)
    appeals = {}
    for deduction_id in (overturn, partial, uphold):
        r = await client.post(f"/api/v1/deductions/{deduction_id}/appeals",
                              json={"text": "当日窗口有人值守，见照片", "evidence_ids": [photo_id]}, headers=unit)
        assert r.status_code == 201, r.text
        assert (r.json()["status"], r.json()["filed_by"], r.json()["evidence_ids"]) == ("open", "own", [photo_id])
        appeals[deduction_id] = r.json()["id"]
    assert_error(await client.post(f"/api/v1/deductions/{uphold}/appeals", json={"text": "再次"}, headers=unit),
                 409, "ALREADY_EXISTS")
    decide = lambda appeal_id, headers, **body: client.post(f"/api/v1/appeals/{appeal_id}/decision", json=body, headers=headers)  # noqa: E731
    # The chief who confirmed the deductions may not judge the appeals against them.
    assert_error(await decide(appeals[uphold], field.chief, outcome="uphold", reason="维持"), 403, "FORBIDDEN")
    assert_error(await decide(appeals[uphold], chief2, outcome="uphold"), 422, "VALIDATION_ERROR")
    assert_error(await decide(appeals[partial], chief2, outcome="partial", reason="部分"), 422, "VALIDATION_ERROR")
    assert_error(await decide(appeals[uphold], chief2, outcome="uphold", points=1, reason="x"), 422, "VALIDATION_ERROR")
    assert_error(await decide(uuid.uuid4(), chief2, outcome="uphold", reason="x"), 404, "NOT_FOUND")
    results = {
        overturn: await decide(appeals[overturn], chief2, outcome="overturn", reason="照片证明有人值守"),
        partial: await decide(appeals[partial], chief2, outcome="partial", points=0.5, reason="情节较轻"),
        uphold: await decide(appeals[uphold], chief2, outcome="uphold", reason="证据充分"),
    }
    assert {k: (r.status_code, r.json()["status"]) for k, r in results.items()} == {
        overturn: (200, "overturned"), partial: (200, "partial"), uphold: (200, "upheld")}
    assert results[partial].json()["decided_by"] == "chief2" and results[partial].json()["points"] == 0.5
    assert_error(await decide(appeals[uphold], chief2, outcome="overturn", reason="改"), 409, "ALREADY_DECIDED")
    async with db() as session:
        rows = {str(d.id): (d.status, d.adjusted_points) for d in (await session.execute(select(Deduction))).scalars()}
    assert (rows[overturn], rows[partial], rows[uphold]) == (("rejected", None), ("adjusted", 0.5), ("confirmed", None))
    mine = {i["deduction_id"]: i["points"] for i in (await client.get("/api/v1/me/deductions", headers=unit)).json()["items"]}
    assert mine == {partial: 0.5, uphold: 1}
    # The ledger holds each filing and each answer, and still verifies.
    entries = [(await client.get(f"/api/v1/ledger/entries/{seq}", headers=field.chief)).json() for seq in range(0, 40)]
    types = [e.get("type") for e in entries if "type" in e]
    assert types.count("appeal.filed") == 3 and types.count("appeal.decided") == 3
    assert (await client.get("/api/v1/ledger/verify", headers=field.chief)).json()["ok"] is True
    listed = (await client.get("/api/v1/appeals?status=partial", headers=unit)).json()
    assert [a["deduction_id"] for a in listed["items"]] == [partial]


async def test_window_overdue_and_who_may_do_what(db, client, field):
    task, (first, second), photo_id, unit, chief2 = await _standing(db, client, field, 2)
    other_code = next(t["unit_code"] for t in field.tasks if t["unit_code"] != task["unit_code"])
    await add_user(db, "other", "unit", other_code)
    other = await login(client, "other")
    assert_error(await client.post(f"/api/v1/deductions/{first}/appeals", json={"text": "不服"}, headers=other), 404)
    for headers in (field.chief, field.member(task)):
        assert_error(await client.post(f"/api/v1/deductions/{first}/appeals", json={"text": "不服"}, headers=headers), 403)
    bad = [{"text": ""}, {"text": "x" * 2001}, {"text": "a\x00"}, {"text": "x", "evidence_ids": [str(uuid.uuid4())]}, {"x": 1}]
    for body in bad:
        assert_error(await client.post(f"/api/v1/deductions/{first}/appeals", json=body, headers=unit), 422)
    # The window: 5 working days from the decision.
    async with db() as session:
        await session.execute(update(Notice).where(Notice.deduction_id == uuid.UUID(second))
                              .values(decided_at=datetime.now(timezone.utc) - timedelta(days=14)))
        await session.commit()
    assert_error(await client.post(f"/api/v1/deductions/{second}/appeals", json={"text": "迟了"}, headers=unit),
                 409, "APPEAL_WINDOW_CLOSED")
    filed = await client.post(f"/api/v1/deductions/{first}/appeals", json={"text": "不服"}, headers=unit)
    assert filed.status_code == 201, filed.text
    appeal_id = filed.json()["id"]
    assert (await client.get("/api/v1/appeals?overdue=true", headers=field.chief)).json()["total"] == 0
    async with db() as session:
        await session.execute(update(Appeal).values(answer_by=date.today() - timedelta(days=1)))
        await session.commit()
    overdue = (await client.get("/api/v1/appeals?overdue=true", headers=field.chief)).json()
    assert [a["id"] for a in overdue["items"]] == [appeal_id]
    assert (await client.get("/api/v1/appeals", headers=other)).json()["total"] == 0
    assert (await client.get("/api/v1/appeals", headers=unit)).json()["total"] == 1
    assert_error(await client.get("/api/v1/appeals", headers=field.member(task)), 403)
    for headers in (unit, field.member(task)):
        r = await client.post(f"/api/v1/appeals/{appeal_id}/decision", json={"outcome": "uphold", "reason": "x"}, headers=headers)
        assert_error(r, 403, "FORBIDDEN")
    # A locked period takes no answer that would change its scores.
    assert (await client.post("/api/v1/periods/2026-H2/lock", headers=field.chief)).status_code == 200
    r = await client.post(f"/api/v1/appeals/{appeal_id}/decision", json={"outcome": "overturn", "reason": "x"}, headers=chief2)
    assert_error(r, 409, "PERIOD_LOCKED")
    assert (await client.get("/api/v1/appeals?overdue=true", headers=field.chief)).json()["total"] == 1
