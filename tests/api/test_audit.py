"""The audit log: each state change of periods, decisions, notices and appeals, with who,
when, before/after and the request id; read by chiefs and admins with filters."""

from __future__ import annotations

import pytest

from tests.support.api import add_user, assert_error, login
from tests.support.field import field_setup, finding_body, submit

PERIOD = "2026-H2"


@pytest.fixture
async def field(app, db, client):
    return await field_setup(app, db, client)


async def test_changes_are_audited_with_their_request_id(db, client, field):
    await add_user(db, "admin", "admin")
    admin = await login(client, "admin")
    task = field.task("field_visit")
    finding = (await client.post("/api/v1/findings", json=finding_body(task, "inspection.window_conduct"),
                                 headers=field.member(task))).json()
    await submit(client, field, task)
    decided = await client.post(f"/api/v1/deductions/{finding['deduction_id']}/decision",
                                json={"action": "adjust", "points": 0.5, "reason": "轻微"},
                                headers={**field.chief, "X-Request-ID": "review-0001"})
    assert decided.status_code == 200, decided.text
    assert (await client.post(f"/api/v1/periods/{PERIOD}/lock", headers=field.chief)).status_code == 200
    r = await client.post(f"/api/v1/periods/{PERIOD}/reopen", json={"reason": "补录"}, headers={**admin, "X-Request-ID": "reopen-0001"})
    assert r.status_code == 200
    await add_user(db, "own", "unit", task["unit_code"])
    assert (await client.get("/api/v1/me/deductions", headers=await login(client, "own"))).json()["total"] == 1

    log = (await client.get("/api/v1/audit?limit=500", headers=admin)).json()
    # The setup (registry, catalogs, plan, draw, finding) is audited too; here only the review.
    review = [e for e in log["items"] if (e["object_type"] == "deduction" and e["actor"] != "demo")
              or e["action"] in ("period.lock", "period.reopen")]
    events = [(e["actor"], e["action"], e["object_id"]) for e in review]
    assert events == [("chief", "deduction.adjusted", finding["deduction_id"]), ("chief", "period.lock", PERIOD),
                      ("admin", "period.reopen", PERIOD), ("own", "notice.read", finding["deduction_id"])]
    first, _, reopen, _ = review
    assert first["before"] == {"status": "proposed", "adjusted_points": None} and first["request_id"] == "review-0001"
    assert first["after"]["status"] == "adjusted" and first["after"]["adjusted_points"] == 0.5 and first["after"]["reason"] == "轻微"
    assert (reopen["before"], reopen["after"], reopen["request_id"]) == ({"status": "locked"}, {"status": "open", "reason": "补录"}, "reopen-0001")
    filtered = (await client.get("/api/v1/audit?object_type=period&actor=admin", headers=field.chief)).json()
    assert [e["action"] for e in filtered["items"]] == ["period.reopen"]
    assert (await client.get(f"/api/v1/audit?object_id={finding['deduction_id']}", headers=field.chief)).json()["total"] == 2
    assert (await client.get("/api/v1/audit?action=period.lock", headers=field.chief)).json()["total"] == 1
    assert (await client.get("/api/v1/audit?since=2100-01-01T00:00:00%2B08:00", headers=field.chief)).json()["total"] == 0
    assert (await client.get("/api/v1/audit?until=2100-01-01T00:00:00Z", headers=field.chief)).json()["total"] == log["total"]
    naive = assert_error(await client.get("/api/v1/audit?since=2026-01-01T00:00:00", headers=field.chief), 422, "VALIDATION_ERROR")
    assert naive["details"][0]["path"] == "query.since"  # as every query parameter's
    for headers in (field.member(task), await login(client, "own")):
        assert_error(await client.get("/api/v1/audit", headers=headers), 403, "FORBIDDEN")
