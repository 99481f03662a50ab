"""The permission matrix: every operation of the API, called as every role, on the visited
office's objects, with the expected status written down as a table (issue 8).

Columns (tests/support/world.py): admin, chief, an inspector on the task's team (on) and one
off it (off), the visited office's unit account (own) and another office's account (other), no
token (anon). A 2xx or a business 4xx (409, 422) in a column means the caller got past the
permission checks; 401/403/404 mean they did not. A unit asking about something it may not
know of gets the same 404 as for something that does not exist, never a 403 that would confirm
it (an unannounced visit must not leak): ``test_unannounced_visits_do_not_leak_to_the_office``.

Writes run in table order against one world; a row whose success would change later rows'
answers works on objects of its own (``{role}`` in a path or body makes them per role).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pytest
from sqlalchemy import update

from api.models_draws import Task
from api.models_review import Appeal
from api.settings import Settings
from tests.support.api import PASSWORD
from tests.support.evidence import evidence_settings, photo
from tests.support.field import finding_body, now
from tests.support.world import ROLES, World, build_world

PERIOD = "2026-H2"
NOWHERE = "00000000-0000-4000-8000-000000000000"
Body = Callable[[World, str], Any]


class Row:
    """One operation: how to call it and the expected status per role (in ``ROLES`` order)."""

    def __init__(self, operation: str, method: str, path: str, expected: str, *, json: Any = None,
                 content: Body | bytes | None = None, headers: dict[str, str] | None = None) -> None:
        self.operation, self.method, self.path = operation, method, path
        self.expected = dict(zip(ROLES, (int(s) for s in expected.split()), strict=True))
        self.json, self.content, self.headers = json, content, headers or {}

    def request(self, world: World, role: str) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"headers": {**world.headers[role], **self.headers}}
        if self.json is not None:
            kwargs["json"] = self.json(world, role) if callable(self.json) else self.json
        if self.content is not None:
            kwargs["content"] = self.content(world, role) if callable(self.content) else self.content
        return {"method": self.method, "url": self.path.replace("{role}", role).format(**world.ids), **kwargs}


def _finding(task_key: str, **extra: Any) -> Body:
    return lambda w, role: finding_body({"id": w.ids[task_key]}, "inspection.window_conduct", **extra)


def _check_in(w: World, role: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "lat": 22.8, "lon": 113.7, "accuracy_m": 5, "device_time": now()}


TUS = {"Tus-Resumable": "1.0.0"}
ROWS = [
    # Health and authentication.
    Row("healthz", "GET", "/healthz", "200 200 200 200 200 200 200"),
    Row("readyz", "GET", "/readyz", "200 200 200 200 200 200 200"),
    Row("createToken", "POST", "/api/v1/auth/token", "200 200 200 200 200 200 200",
        json={"username": "chief2", "password": PASSWORD}),
    Row("getMe", "GET", "/api/v1/me", "200 200 200 200 200 200 401"),
    # Accounts: admins only.
    Row("listUsers", "GET", "/api/v1/users", "200 403 403 403 403 403 401"),
    Row("createUser", "POST", "/api/v1/users", "201 403 403 403 403 403 401",
        json=lambda w, role: {"username": f"new-{role}", "role": "inspector", "password": PASSWORD}),
    Row("getUser", "GET", "/api/v1/users/{on}", "200 403 403 403 403 403 401"),
    Row("updateUser", "PATCH", "/api/v1/users/new-admin", "200 403 403 403 403 403 401", json={"active": False}),
    # The registry: everyone signed in reads it, bureau staff write it.
    Row("listUnits", "GET", "/api/v1/units", "200 200 200 200 200 200 401"),
    Row("getUnit", "GET", "/api/v1/units/{unit}", "200 200 200 200 200 404 401"),
    Row("createUnit", "POST", "/api/v1/units", "201 201 403 403 403 403 401",
        json=lambda w, role: {"code": f"NEW-{role}", "name": "新单位", "kind": "entity", "parent_code": w.ids["unit"]}),
    Row("updateUnit", "PATCH", "/api/v1/units/NEW-{role}", "200 200 403 403 403 403 401", json={"name": "新单位（改）"}),
    Row("listCaseFiles", "GET", "/api/v1/case-files", "200 200 200 200 200 200 401"),
    Row("createCaseFile", "POST", "/api/v1/case-files", "201 201 403 403 403 403 401",
        json=lambda w, role: {"code": f"新〔2026〕{role}号", "unit_code": w.ids["unit"], "type": "enforcement",
                              "closed_on": "2026-01-05", "handlers": ["张伟"]}),
    Row("getCaseFile", "GET", "/api/v1/case-files/新〔2026〕admin号", "200 200 200 200 200 404 401"),
    Row("updateCaseFile", "PATCH", "/api/v1/case-files/新〔2026〕{role}号", "200 200 403 403 403 403 401",
        json={"handlers": ["李娜"]}),
    Row("listInspectors", "GET", "/api/v1/inspectors", "200 200 200 200 403 403 401"),
    Row("getInspector", "GET", "/api/v1/inspectors/{on}", "200 200 200 404 403 403 401"),
    Row("createInspector", "POST", "/api/v1/inspectors", "201 201 403 403 403 403 401",
        json=lambda w, role: {"username": f"insp-{role}", "name": "新检查员", "home_unit": w.ids["unit"]}),
    Row("updateInspector", "PATCH", "/api/v1/inspectors/insp-{role}", "200 200 403 403 403 403 401",
        json={"name": "新检查员（改）"}),
    Row("importRegistry", "POST", "/api/v1/imports/units", "200 200 403 403 403 403 401",
        content=lambda w, role: f"code,name,kind,parent_code\nIMP-{role},导入单位,entity,{w.ids['unit']}\n".encode(),
        headers={"Content-Type": "text/csv"}),
    # Plans and draws reveal upcoming visits: bureau staff only, until published.
    Row("listPlans", "GET", "/api/v1/plans", "200 200 403 403 403 403 401"),
    Row("createPlan", "POST", "/api/v1/plans", "201 201 403 403 403 403 401",
        json=lambda w, role: {"name": f"计划 {role}", "due_from": "2026-11-01", "due_to": "2026-12-31",
                              "params": {"units": {"filter": {"kind": ["office"]}, "rules": [{"size": 1}]}}}),
    Row("getPlan", "GET", "/api/v1/plans/{hidden_plan}", "200 200 403 403 403 403 401"),
    Row("updatePlan", "PATCH", "/api/v1/plans/{hidden_plan}", "409 409 403 403 403 403 401", json={"name": "改名"}),
    Row("drawPlan", "POST", "/api/v1/plans/{hidden_plan}/draw", "409 409 403 403 403 403 401", json={"seed": "again"}),
    Row("exportPlanTasks", "GET", "/api/v1/plans/{hidden_plan}/tasks/export?format=csv", "200 200 403 403 403 403 401"),
    Row("listDraws", "GET", "/api/v1/draws", "200 200 200 200 200 200 401"),
    Row("getDraw", "GET", "/api/v1/draws/{draw}", "200 200 404 404 404 404 401"),
    Row("getDrawInputs", "GET", "/api/v1/draws/{draw}/inputs", "200 200 404 404 404 404 401"),
    Row("verifyDraw", "POST", "/api/v1/draws/{draw}/verify", "200 200 404 404 404 404 401", json={}),
    # Staff pass the guard; the world's main draw still has unannounced visits ahead, so its
    # publication is refused (409 VISITS_PENDING; published once they are done: test_draws.py).
    Row("publishDraw", "POST", "/api/v1/draws/{main_draw}/publish", "409 409 403 403 403 403 401"),
    # Tasks: staff see all, an inspector their team's, a unit its own once announced or done.
    Row("listTasks", "GET", "/api/v1/tasks", "200 200 200 200 200 200 401"),
    Row("getTask", "GET", "/api/v1/tasks/{task}", "200 200 200 404 200 404 401"),
    Row("listMyTasks", "GET", "/api/v1/me/tasks", "403 403 200 200 403 403 401"),
    Row("declareConflict", "POST", "/api/v1/conflicts", "201 201 201 201 403 403 401",
        json=lambda w, role: {"inspector": w.ids[role] if role in ("on", "off") else w.ids["off"],
                              "unit_code": w.ids["unit"] if role in ("on", "off") else f"NEW-{role}", "reason": "亲属"}),
    Row("listConflicts", "GET", "/api/v1/conflicts", "200 200 200 200 403 403 401"),
    Row("withdrawConflict", "DELETE", "/api/v1/conflicts/{conflict_{role}}", "204 204 403 403 403 403 401"),
    # Field work: the team writes, a submitted task is frozen.
    Row("checkIn", "POST", "/api/v1/tasks/{task}/check-ins", "403 403 409 404 403 403 401", json=_check_in),
    Row("listCheckIns", "GET", "/api/v1/tasks/{task}/check-ins", "200 200 200 404 403 403 401"),
    Row("createFinding", "POST", "/api/v1/findings", "403 403 409 404 403 403 401", json=_finding("task")),
    Row("listFindings", "GET", "/api/v1/findings", "200 200 200 200 403 403 401"),
    Row("getFinding", "GET", "/api/v1/findings/{finding}", "200 200 200 404 403 403 401"),
    Row("updateFinding", "PATCH", "/api/v1/findings/{finding}", "403 403 409 404 403 403 401", json={"note": "改"}),
    Row("submitTask", "POST", "/api/v1/tasks/{task}/submit", "403 403 200 404 403 403 401"),
    Row("sync", "POST", "/api/v1/sync", "403 403 200 200 403 403 401",
        json=lambda w, role: {"operations": [{"op": "finding", "finding": _finding("task")(w, role)}]}),
    # Evidence: the team uploads; staff, the team and (once told) the unit read.
    Row("uploadEvidence", "POST", "/api/v1/evidence?task_id={task}", "403 403 201 404 403 403 401",
        content=lambda w, role: photo(40 + ROLES.index(role)), headers={"Content-Type": "application/octet-stream"}),
    Row("listEvidence", "GET", "/api/v1/evidence", "200 200 200 200 200 200 401"),
    Row("getEvidence", "GET", "/api/v1/evidence/{evidence}", "200 200 200 404 200 404 401"),
    Row("getEvidenceOriginal", "GET", "/api/v1/evidence/{evidence}/original", "200 200 200 404 200 404 401"),
    Row("getEvidenceThumbnail", "GET", "/api/v1/evidence/{evidence}/thumbnail?size=256", "200 200 200 404 200 404 401"),
    Row("recomputeEvidenceFlags", "POST", "/api/v1/evidence/{evidence}/flags", "200 200 403 403 403 403 401"),
    Row("createUpload", "POST", "/api/v1/uploads", "403 403 201 201 403 403 401", headers={**TUS, "Upload-Length": "100"}),
    Row("getUpload", "GET", "/api/v1/uploads/{upload}", "403 403 200 404 403 403 401", headers=TUS),
    Row("uploadChunk", "PATCH", "/api/v1/uploads/{upload}", "403 403 204 404 403 403 401", content=b"x" * 10,
        headers={**TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}),
    Row("deleteUpload", "DELETE", "/api/v1/uploads/{upload}", "403 403 204 404 403 403 401", headers=TUS),
    # Catalogs, schemes, periods and measurements.
    Row("listCatalogs", "GET", "/api/v1/catalogs", "200 200 200 200 200 200 401"),
    Row("listShippedCatalogs", "GET", "/api/v1/catalogs/shipped", "200 200 200 200 200 200 401"),
    Row("getCatalog", "GET", "/api/v1/catalogs/{catalog}", "200 200 200 200 200 200 401"),
    Row("loadCatalog", "POST", "/api/v1/catalogs", "422 422 403 403 403 403 401", content=b"{}",
        headers={"Content-Type": "application/json"}),
    Row("loadShippedCatalog", "POST", "/api/v1/catalogs/shipped/{catalog_code}", "200 200 403 403 403 403 401"),
    Row("listSchemes", "GET", "/api/v1/schemes", "200 200 200 200 200 200 401"),
    Row("listShippedSchemes", "GET", "/api/v1/schemes/shipped", "200 200 200 200 200 200 401"),
    Row("getScheme", "GET", "/api/v1/schemes/{scheme}", "200 200 200 200 200 200 401"),
    Row("loadScheme", "POST", "/api/v1/schemes", "422 422 403 403 403 403 401", content=b"{}",
        headers={"Content-Type": "application/json"}),
    Row("loadShippedScheme", "POST", "/api/v1/schemes/shipped/{scheme_code}", "200 200 403 403 403 403 401"),
    Row("listPeriods", "GET", "/api/v1/periods", "200 200 200 200 200 200 401"),
    Row("getPeriod", "GET", f"/api/v1/periods/{PERIOD}", "200 200 200 200 200 200 401"),
    Row("createPeriod", "POST", "/api/v1/periods", "201 201 403 403 403 403 401",
        json=lambda w, role: {**w.period_body, "code": f"P-{role}"}),
    Row("upsertMeasurement", "PUT", f"/api/v1/periods/{PERIOD}/measurements", "200 200 403 403 403 403 401",
        json=lambda w, role: {"unit_code": w.ids["unit"], "metric": "mystery_shopping_stars", "value": 4, "source": "暗访系统"}),
    Row("listMeasurements", "GET", f"/api/v1/periods/{PERIOD}/measurements", "200 200 200 200 200 200 401"),
    Row("importMeasurements", "POST", f"/api/v1/periods/{PERIOD}/measurements/import", "200 200 403 403 403 403 401",
        content=lambda w, role: f"unit_code,metric,value,source\n{w.ids['unit']},mystery_shopping_stars,4,s\n".encode()),
    Row("lockPeriod", "POST", "/api/v1/periods/P-{role}/lock", "200 200 403 403 403 403 401"),
    Row("publishPeriod", "POST", "/api/v1/periods/P-{role}/publish", "200 200 403 403 403 403 401"),
    Row("reopenPeriod", "POST", "/api/v1/periods/P-{role}/reopen", "200 403 403 403 403 403 401", json={"reason": "更正"}),
    # Scores of an open period: staff; a unit its own.
    Row("getLeaderboard", "GET", f"/api/v1/leaderboard?period={PERIOD}", "200 200 403 403 200 200 401"),
    Row("exportLeaderboard", "GET", f"/api/v1/leaderboard/export?period={PERIOD}&format=csv", "200 200 403 403 200 200 401"),
    Row("exportDeductionRegister", "GET", f"/api/v1/periods/{PERIOD}/register?unit={{unit}}&format=csv",
        "200 200 403 403 200 404 401"),
    Row("getUnitScore", "GET", f"/api/v1/units/{{unit}}/scores?period={PERIOD}", "200 200 403 403 200 404 401"),
    Row("getStaffTotals", "GET", f"/api/v1/periods/{PERIOD}/staff-totals", "200 200 403 403 200 200 401"),
    # Review, notices, appeals.
    Row("listReviews", "GET", "/api/v1/reviews", "403 200 403 403 403 403 401"),
    Row("decideDeduction", "POST", "/api/v1/deductions/{proposed}/decision", "403 200 403 403 403 403 401",
        json={"action": "confirm"}),
    Row("decideDeductions", "POST", "/api/v1/deductions/decisions", "403 200 403 403 403 403 401",
        json=lambda w, role: {"decisions": [{"deduction_id": w.ids["proposed"], "action": "confirm"}]}),
    Row("listOverdueNotices", "GET", "/api/v1/deductions/notice-overdue", "200 200 403 403 403 403 401"),
    Row("listMyDeductions", "GET", "/api/v1/me/deductions", "403 403 403 403 200 200 401"),
    Row("fileAppeal", "POST", "/api/v1/deductions/{deduction}/appeals", "403 403 403 403 409 404 401",
        json={"text": "再次申诉"}),
    Row("listAppeals", "GET", "/api/v1/appeals", "200 200 403 403 200 200 401"),
    Row("decideAppeal", "POST", "/api/v1/appeals/{appeal}/decision", "403 403 403 403 403 403 401",
        json={"outcome": "uphold", "reason": "证据充分"}),
    Row("listAudit", "GET", "/api/v1/audit", "200 200 403 403 403 403 401"),
    Row("exportAudit", "GET", "/api/v1/audit/export?format=csv", "200 200 403 403 403 403 401"),
    # The ledger: checkpoints and proofs are public to signed-in users, entries to staff.
    Row("getLedgerKey", "GET", "/api/v1/ledger/key", "200 200 200 200 200 200 401"),
    Row("getLedgerCheckpoint", "GET", "/api/v1/ledger/checkpoint", "200 200 200 200 200 200 401"),
    Row("getLedgerEntry", "GET", "/api/v1/ledger/entries/0", "200 200 403 403 403 403 401"),
    Row("getInclusionProof", "GET", "/api/v1/ledger/proofs/inclusion?index=0&tree_size=2", "200 200 200 200 200 200 401"),
    Row("getConsistencyProof", "GET", "/api/v1/ledger/proofs/consistency?old_size=1&new_size=2", "200 200 200 200 200 200 401"),
    Row("verifyLedger", "GET", "/api/v1/ledger/verify", "200 200 403 403 403 403 401"),
    # Last: logging out revokes every token of the account.
    Row("logout", "POST", "/api/v1/auth/logout", "204 204 204 204 204 204 401"),
]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return evidence_settings(database_url, tmp_path)


def test_every_operation_has_a_row(app):
    operations = {handler.operation_id for route in app.routes for method, handler in _handlers(route)
                  if handler.include_in_schema and method not in ("HEAD", "OPTIONS")}
    operations.discard(None)
    assert sorted(operations - {r.operation for r in ROWS}) == []
    assert sorted({r.operation for r in ROWS} - operations) == []


def _handlers(route: Any) -> list[tuple[str, Any]]:
    mapping = getattr(route, "route_handler_map", {})
    return [(m, h[0] if isinstance(h, tuple) else h) for m, h in mapping.items()]


async def test_permission_matrix(app, db, client):
    world = await build_world(app, db, client)
    wrong = []
    for row in ROWS:
        got = {}
        for role in ROLES:
            response = await client.request(**row.request(world, role))
            got[role] = response.status_code
        if got != row.expected:
            wrong.append(f"{row.operation:<24} want {' '.join(str(row.expected[r]) for r in ROLES)}"
                         f"  got {' '.join(str(got[r]) for r in ROLES)}")
    assert wrong == [], "\n" + "\n".join(wrong)


def _same_answer(hidden: Any, missing: Any, hidden_id: str, missing_id: str) -> None:
    """Both calls answer alike: status, and body once the ids asked for are blanked."""
    assert hidden.status_code == missing.status_code, (hidden.text, missing.text)
    assert hidden.text.replace(hidden_id, "?") == missing.text.replace(missing_id, "?")


async def test_unannounced_visits_do_not_leak_to_the_office(app, db, client):
    world = await build_world(app, db, client)
    own, ids = world.headers["own"], world.ids
    hidden, missing = ids["hidden_task"], str(uuid.uuid4())
    # Lists and counts: the visit ahead is not there, the submitted one is.
    listed = (await client.get("/api/v1/tasks?limit=500", headers=own)).json()
    seen = {t["id"] for t in listed["items"]}
    assert hidden not in seen and ids["task"] in seen and listed["total"] == len(seen)
    assert all(not t["unannounced"] or t["status"] in ("submitted", "reviewed") for t in listed["items"])
    assert hidden not in (await client.get("/api/v1/evidence?limit=500", headers=own)).text
    draws = (await client.get("/api/v1/draws?limit=500", headers=own)).json()
    assert ids["draw"] not in {d["id"] for d in draws["items"]} and draws["total"] == len(draws["items"])
    # Asking for it by id answers exactly as for an id that never existed.
    for path in ("/api/v1/tasks/{}", "/api/v1/tasks/{}/check-ins", "/api/v1/tasks/{}/submit"):
        method = "POST" if path.endswith("submit") else "GET"
        _same_answer(await client.request(method, path.format(hidden), headers=own),
                     await client.request(method, path.format(missing), headers=own), hidden, missing)
    _same_answer(await client.get(f"/api/v1/draws/{ids['draw']}", headers=own),
                 await client.get(f"/api/v1/draws/{missing}", headers=own), ids["draw"], missing)
    _same_answer(await client.get(f"/api/v1/plans/{ids['hidden_plan']}", headers=own),
                 await client.get(f"/api/v1/plans/{missing}", headers=own), ids["hidden_plan"], missing)
    for body in (finding_body({"id": hidden}, "inspection.window_conduct"), finding_body({"id": missing}, "inspection.window_conduct")):
        assert (await client.post("/api/v1/findings", json=body, headers=own)).status_code == 403
    # Its own scores and deductions never name the task ahead.
    for path in ("/api/v1/me/deductions", f"/api/v1/units/{ids['unit']}/scores?period={PERIOD}",
                 f"/api/v1/leaderboard?period={PERIOD}", "/api/v1/appeals"):
        answer = await client.get(path, headers=own)
        assert answer.status_code == 200 and hidden not in answer.text and ids["hidden_plan"] not in answer.text, path


async def test_scores_are_public_once_the_period_is_published(app, db, client):
    world = await build_world(app, db, client)
    admin, on, own = world.headers["admin"], world.headers["on"], world.headers["own"]
    board = f"/api/v1/leaderboard?period={PERIOD}&limit=500"
    everyone = (await client.get(board, headers=admin)).json()
    assert len((await client.get(board, headers=own)).json()["items"]) == 1
    async with db() as session:  # the appeal is answered and the unannounced visits are done
        await session.execute(update(Appeal).values(status="upheld", decided_by="chief", decided_at=datetime.now(timezone.utc)))
        await session.execute(update(Task).where(Task.unannounced.is_(True)).values(status="submitted"))
        await session.commit()
    for step in ("lock", "publish"):
        assert (await client.post(f"/api/v1/periods/{PERIOD}/{step}", headers=admin)).status_code == 200
    for headers in (on, own):
        published = await client.get(board, headers=headers)
        assert published.status_code == 200 and published.json()["items"] == everyone["items"]
    score = await client.get(f"/api/v1/units/{world.ids['unit']}/scores?period={PERIOD}", headers=on)
    assert score.status_code == 200 and score.json()["unit_code"] == world.ids["unit"]
