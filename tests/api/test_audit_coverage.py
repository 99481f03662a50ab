"""Every state-changing endpoint leaves audit events, in the transaction of its change: the
route table is checked against a map of operations to actions (a new endpoint without audit
fails here), and a representative call of each area is checked event by event (actor,
action, object, before/after, the response's X-Request-ID). Field work: test_audit_field.py."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path

import msgspec
import openpyxl
import sampling
from litestar.testing import AsyncTestClient

from api.app import create_app
from tests.support.api import PASSWORD, add_user, assert_error, login, seed_registry
from tests.support.audit import Event, Log
from tests.support.evidence import PLAN_PARAMS
from tests.support.scoring import shipped_bytes

DECISIONS = ("deduction.confirmed", "deduction.adjusted", "deduction.rejected", "task.reviewed")
PHOTO_REVIEW = "evidence.flags_changed"  # cited photos are re-checked after a finding is stored
FIELD = ("check_in.created", "task.started", "finding.created", "finding.superseded", "evidence.attached",
         "task.submitted", PHOTO_REVIEW)
#: Each non-GET operation and the audit actions it may produce (each when its change happens).
AUDITED: dict[str, tuple[str, ...]] = {
    "createToken": ("user.locked_out",),  # only the failure that locks the name; a login itself is not audited
    "logout": ("user.logged_out",),
    "createUser": ("user.created",),
    "updateUser": ("user.role_changed", "user.disabled", "user.enabled", "user.password_changed"),
    "createUnit": ("unit.created",),
    "updateUnit": ("unit.updated",),
    "createCaseFile": ("case_file.created",),
    "updateCaseFile": ("case_file.updated",),
    "createInspector": ("inspector.created",),
    "updateInspector": ("inspector.updated",),
    "importRegistry": ("unit.imported", "case_file.imported", "inspector.imported"),
    "loadCatalog": ("catalog.loaded",),
    "loadShippedCatalog": ("catalog.loaded",),
    "loadScheme": ("scheme.loaded",),
    "loadShippedScheme": ("scheme.loaded",),
    "createPeriod": ("period.open",),
    "lockPeriod": ("period.lock",),
    "publishPeriod": ("period.publish",),
    "reopenPeriod": ("period.reopen",),
    "upsertMeasurement": ("measurement.created", "measurement.updated"),
    "importMeasurements": ("measurement.imported",),
    "createPlan": ("plan.created",),
    "updatePlan": ("plan.updated",),
    "drawPlan": ("plan.drawn",),
    "publishDraw": ("draw.published",),
    "declareConflict": ("conflict.declared",),
    "withdrawConflict": ("conflict.withdrawn",),
    "checkIn": ("check_in.created", "task.started"),
    "createFinding": ("finding.created", "finding.superseded", "evidence.attached", PHOTO_REVIEW),
    "updateFinding": ("finding.edited", "evidence.attached", "evidence.detached", PHOTO_REVIEW),
    "submitTask": ("task.submitted",),
    "sync": FIELD,
    "uploadEvidence": ("evidence.uploaded",),
    "uploadChunk": ("evidence.uploaded",),  # the chunk that completes a resumable upload files the photo
    "recomputeEvidenceFlags": (PHOTO_REVIEW,),
    "decideDeduction": DECISIONS,
    "decideDeductions": DECISIONS,
    "fileAppeal": ("appeal.filed",),
    "decideAppeal": ("appeal.vote", "appeal.upheld", "appeal.overturned", "appeal.partial", "deduction.appeal_outcome"),
    # The console's forms (no operation id: not in the API schema) call the same services.
    "POST /console/login": ("user.locked_out",),
    "POST /console/logout": ("user.logged_out",),
    "POST /console/review/{deduction_id:uuid}/decision": DECISIONS,
    "POST /console/review/bulk": DECISIONS,
    "POST /console/plans/{plan_id:uuid}/draw": ("plan.drawn",),
    "POST /console/appeals/{appeal_id:uuid}/decision": ("appeal.vote", "appeal.upheld", "appeal.overturned", "appeal.partial",
                                                        "deduction.appeal_outcome"),
    "POST /console/my/deductions/{deduction_id:uuid}/appeal": ("appeal.filed",),
}
#: Non-GET operations that change no audited state, and why.
EXEMPT: dict[str, str] = {
    # Recomputes a stored draw and lists the differences: a read that needs a body.
    "verifyDraw": "read",
    # Staging of a resumable upload (bytes in transit, purged when they expire); what is kept,
    # the filed photo, is audited as evidence.uploaded by the chunk that completes it.
    "createUpload": "staging",
    "deleteUpload": "staging",
    "POST /console/plans/{plan_id:uuid}/verify": "read",
}
ACTIONS_DOC = Path(__file__).resolve().parents[2] / "docs" / "audit.md"


def mutating_operations(app) -> dict[str, str]:
    found = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            methods = set(handler.http_methods) - {"GET", "HEAD", "OPTIONS"}
            if methods:
                where = f"{'/'.join(sorted(methods))} {route.path}"
                found[handler.operation_id or where] = where
    return found


def test_every_state_changing_operation_is_audited_or_exempt(app):
    operations = mutating_operations(app)
    unmapped = {op: where for op, where in operations.items() if op not in AUDITED and op not in EXEMPT}
    assert not unmapped, f"audit these operations (and add them to AUDITED) or exempt them with a reason: {unmapped}"
    assert not set(AUDITED) & set(EXEMPT)
    assert set(AUDITED) | set(EXEMPT) == set(operations), "the tables name operations that no longer exist"
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", ACTIONS_DOC.read_text(encoding="utf-8"), re.M))
    actions = {a for listed in AUDITED.values() for a in listed}
    assert actions - documented == set(), "document every action in docs/audit.md"


async def test_accounts_are_audited_without_secrets(db, client):
    await add_user(db, "admin", "admin")
    admin = await login(client, "admin")
    log = await Log(db).start()
    r = await client.post("/api/v1/users", json={"username": "insp9", "role": "inspector", "password": PASSWORD}, headers=admin)
    assert r.status_code == 201, r.text
    assert await log.new() == [Event("admin", "user.created", "user", "insp9", None,
                                     {"role": "inspector", "unit_code": None, "active": True}, r.headers["x-request-id"])]
    secret = "another long secret"
    r = await client.patch("/api/v1/users/insp9", json={"role": "chief", "password": secret, "active": False}, headers=admin)
    assert r.status_code == 200, r.text
    events = await log.new()
    assert [(e.action, e.object_id, e.before, e.after) for e in events] == [
        ("user.role_changed", "insp9", {"role": "inspector"}, {"role": "chief"}),
        ("user.password_changed", "insp9", None, {"tokens_revoked": True}),
        ("user.disabled", "insp9", {"active": True}, {"active": False}),
    ]
    assert {(e.actor, e.request_id) for e in events} == {("admin", r.headers["x-request-id"])}
    text = json.dumps([(e.before, e.after) for e in events])
    assert secret not in text and "argon2" not in text
    # Refused changes leave nothing behind.
    assert_error(await client.post("/api/v1/users", json={"username": "insp9", "role": "chief", "password": PASSWORD},
                                   headers=admin), 409, "ALREADY_EXISTS")
    assert_error(await client.patch("/api/v1/users/insp9", json={"role": "unit"}, headers=admin), 422)
    assert await log.new() == []
    r = await client.patch("/api/v1/users/insp9", json={"active": True, "password": PASSWORD}, headers=admin)
    assert [e.action for e in await log.new()] == ["user.password_changed", "user.enabled"]
    own = await login(client, "insp9")  # a login is not audited
    r = await client.post("/api/v1/auth/logout", headers=own)
    assert r.status_code == 204
    assert await log.new() == [Event("insp9", "user.logged_out", "user", "insp9", None, {"tokens_revoked": True},
                                     r.headers["x-request-id"])]
    for _ in range(3):  # the test settings lock a name after 3 failures
        assert (await client.post("/api/v1/auth/token", json={"username": "insp9", "password": "wrong!"})).status_code == 401
    assert_error(await client.post("/api/v1/auth/token", json={"username": "insp9", "password": "wrong!"}), 429)
    [locked] = await log.new()
    assert (locked.actor, locked.action, locked.object_id, locked.after["failures"]) == ("system", "user.locked_out", "insp9", 3)


async def test_registry_changes_and_imports_are_audited(db, client):
    await seed_registry(db)
    await add_user(db, "chief", "chief")
    chief = await login(client, "chief")
    log = await Log(db).start()
    r = await client.post("/api/v1/units", json={"code": "DG-DJ", "name": "道滘分局", "kind": "office", "parent_code": "DG"},
                          headers=chief)
    assert r.status_code == 201, r.text
    assert await log.new() == [Event("chief", "unit.created", "unit", "DG-DJ", None,
                                     {"name": "道滘分局", "kind": "office", "parent_code": "DG"}, r.headers["x-request-id"])]
    r = await client.patch("/api/v1/units/DG-DJ", json={"name": "道滘分局", "grid": "G03"}, headers=chief)
    assert await log.new() == [Event("chief", "unit.updated", "unit", "DG-DJ", {"grid": None}, {"grid": "G03"},
                                     r.headers["x-request-id"])]
    assert (await client.patch("/api/v1/units/DG-DJ", json={"grid": "G03"}, headers=chief)).status_code == 200
    assert_error(await client.patch("/api/v1/units/DG-DJ", json={"parent_code": "NOPE"}, headers=chief), 422)
    assert_error(await client.post("/api/v1/case-files", json={"code": "x", "unit_code": "NOPE", "type": "enforcement"},
                                   headers=chief), 422)
    assert await log.new() == []  # nothing changed, nothing recorded

    data = "code,name,kind,parent_code\nDG-DJ,道滘分局,office,DG\nDG-SL,石龙分局,office,DG\n".encode()
    r = await client.post("/api/v1/imports/units?file_name=分局.csv", content=data, headers=chief)
    assert r.status_code == 200, r.text
    sha = hashlib.sha256(data).hexdigest()
    assert await log.new() == [Event("chief", "unit.imported", "file", sha, None,
                                     {"file_name": "分局.csv", "sha256": sha, "rows": 2, "created": 1, "updated": 0,
                                      "unchanged": 1},
                                     r.headers["x-request-id"])]
    assert_error(await client.post("/api/v1/imports/units", content=b"code,name,kind\nX,,office\n", headers=chief), 422)
    assert_error(await client.post("/api/v1/imports/units?file_name=a/b.csv", content=data, headers=chief), 422)
    assert await log.new() == []

    r = await client.post("/api/v1/conflicts", json={"inspector": "insp01", "unit_code": "DG-CA", "reason": "亲属"}, headers=chief)
    assert r.status_code == 201, r.text
    conflict = str(r.json()["id"])
    gone = await client.delete(f"/api/v1/conflicts/{conflict}", headers=chief)
    assert gone.status_code == 204
    link = {"inspector": "insp01", "unit_code": "DG-CA", "reason": "亲属"}
    assert await log.new() == [Event("chief", "conflict.declared", "conflict", conflict, None, link, r.headers["x-request-id"]),
                               Event("chief", "conflict.withdrawn", "conflict", conflict, link, None, gone.headers["x-request-id"])]


async def test_catalogs_periods_and_measurements_are_audited(db, client):
    await seed_registry(db)
    await add_user(db, "chief", "chief")
    chief = await login(client, "chief")
    log = await Log(db).start()
    yaml_type = {**chief, "Content-Type": "application/yaml"}
    r = await client.post("/api/v1/catalogs", content=shipped_bytes("dongguan_branch_2010.catalog"), headers=yaml_type)
    assert r.status_code == 201, r.text
    [loaded] = await log.new()
    assert (loaded.actor, loaded.action, loaded.object_type, loaded.object_id, loaded.request_id) == (
        "chief", "catalog.loaded", "catalog", "dongguan_branch_2010@1", r.headers["x-request-id"])
    assert loaded.after["sha256"] == r.json()["sha256"] and loaded.before is None
    again = await client.post("/api/v1/catalogs", content=shipped_bytes("dongguan_branch_2010.catalog"), headers=yaml_type)
    assert again.status_code == 200 and await log.new() == []  # the same document again changes nothing
    r = await client.post("/api/v1/schemes/shipped/branch_annual", headers=chief)
    assert [(e.action, e.object_id) for e in await log.new()] == [("scheme.loaded", "branch_annual@1")]

    body = {"code": "2026-H2", "name": "2026年下半年", "starts_on": "2026-07-01", "ends_on": "2026-12-31",
            "catalog_code": "dongguan_branch_2010", "scheme_code": "branch_annual", "parent_code": "DG"}
    r = await client.post("/api/v1/periods", json=body, headers=chief)
    assert r.status_code == 201, r.text
    [opened] = await log.new()
    assert (opened.actor, opened.action, opened.object_id, opened.request_id) == ("chief", "period.open", "2026-H2", r.headers["x-request-id"])
    assert opened.after["catalog"] == "dongguan_branch_2010@1" and opened.after["status"] == "open"
    assert_error(await client.post("/api/v1/periods", json=body, headers=chief), 409)

    url, key = "/api/v1/periods/2026-H2/measurements", "2026-H2:DG-HM:mystery_shopping_stars"
    value = {"unit_code": "DG-HM", "metric": "mystery_shopping_stars", "value": 4.5, "source": "暗访系统"}
    first = await client.put(url, json=value, headers=chief)
    second = await client.put(url, json={**value, "value": 4}, headers=chief)
    assert (await client.put(url, json={**value, "value": 4}, headers=chief)).status_code == 200  # the same again
    assert_error(await client.put(url, json={**value, "metric": "nope"}, headers=chief), 422)
    assert await log.new() == [
        Event("chief", "measurement.created", "measurement", key, None, {"value": 4.5, "elapsed": 1.0, "source": "暗访系统"},
              first.headers["x-request-id"]),
        Event("chief", "measurement.updated", "measurement", key, {"value": 4.5}, {"value": 4}, second.headers["x-request-id"]),
    ]
    data = "unit_code,metric,value,source\nDG-HM,mystery_shopping_stars,5,复核\nDG-CA,mystery_shopping_stars,3,暗访系统\n".encode()
    r = await client.post(f"{url}/import?file_name=stars.csv", content=data, headers=chief)
    assert r.status_code == 200, r.text
    sha = hashlib.sha256(data).hexdigest()
    assert await log.new() == [Event("chief", "measurement.imported", "file", sha, None,
                                     {"file_name": "stars.csv", "sha256": sha, "period_code": "2026-H2", "rows": 2,
                                      "created": 1, "updated": 1}, r.headers["x-request-id"])]


async def test_plans_and_draws_are_audited_with_the_seed_committed_then_revealed(db, client):
    await seed_registry(db)
    await add_user(db, "chief", "chief")
    chief = await login(client, "chief")
    log = await Log(db).start()
    commitment = sampling.seed_commitment("20261121")
    body = {"name": "抽查", "params": PLAN_PARAMS, "unannounced": False, "due_from": "2026-11-01", "due_to": "2026-11-30",
            "seed_commitment": commitment}
    r = await client.post("/api/v1/plans", json=body, headers=chief)
    assert r.status_code == 201, r.text
    plan = r.json()["id"]
    [created] = await log.new()
    assert (created.actor, created.action, created.object_type, created.object_id, created.request_id) == (
        "chief", "plan.created", "plan", plan, r.headers["x-request-id"])
    assert created.after["seed_commitment"] == commitment and created.after["status"] == "draft"
    r = await client.patch(f"/api/v1/plans/{plan}", json={"name": "抽查（修订）"}, headers=chief)
    assert await log.new() == [Event("chief", "plan.updated", "plan", plan, {"name": "抽查"}, {"name": "抽查（修订）"},
                                     r.headers["x-request-id"])]
    assert_error(await client.post(f"/api/v1/plans/{plan}/draw", json={"seed": "wrong seed"}, headers=chief), 409, "SEED_COMMITMENT_MISMATCH")
    assert await log.new() == []  # the commitment refused the seed: no draw, no event
    r = await client.post(f"/api/v1/plans/{plan}/draw", json={"seed": "20261121"}, headers=chief)
    assert r.status_code == 201, r.text
    [drawn] = await log.new()
    assert (drawn.action, drawn.object_id, drawn.before, drawn.request_id) == ("plan.drawn", plan, {"status": "draft"}, r.headers["x-request-id"])
    assert {k: drawn.after[k] for k in ("status", "draw_id", "seed", "seed_commitment", "tasks")} == {
        "status": "drawn", "draw_id": r.json()["id"], "seed": "20261121", "seed_commitment": commitment, "tasks": 2}
    assert_error(await client.patch(f"/api/v1/plans/{plan}", json={"name": "x"}, headers=chief), 409)
    draw = r.json()["id"]
    r = await client.post(f"/api/v1/draws/{draw}/publish", headers=chief)
    assert (await client.post(f"/api/v1/draws/{draw}/publish", headers=chief)).status_code == 200
    [published] = await log.new()
    assert (published.action, published.object_id, published.before, published.request_id) == (
        "draw.published", draw, {"published_at": None}, r.headers["x-request-id"])


def _csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


async def test_the_log_exports_with_the_list_filters(db, client, settings):
    await add_user(db, "admin", "admin")
    admin = await login(client, "admin")
    for n in range(3):
        r = await client.post("/api/v1/users", json={"username": f"u{n}", "role": "chief", "password": PASSWORD}, headers=admin)
        assert r.status_code == 201
    await client.patch("/api/v1/users/u0", json={"active": False}, headers=admin)
    listed = (await client.get("/api/v1/audit?actor=admin&action=user.created", headers=admin)).json()
    r = await client.get("/api/v1/audit/export?format=csv&lang=zh&actor=admin&action=user.created", headers=admin)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv") and 'filename="audit.csv"' in r.headers["content-disposition"]
    header, *rows = _csv_rows(r.content)
    assert header == ["时间", "操作人", "操作", "对象类型", "对象", "变更前", "变更后", "请求编号"]
    assert [row[1:5] for row in rows] == [["admin", "user.created", "user", e["object_id"]] for e in listed["items"]] != []
    assert [json.loads(row[6]) for row in rows] == [e["after"] for e in listed["items"]]
    assert [row[7] for row in rows] == [e["request_id"] for e in listed["items"]]

    r = await client.get("/api/v1/audit/export?format=xlsx&lang=en&object_id=u0", headers=admin)
    assert r.status_code == 200, r.text
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["Time", "Actor", "Action", "Object type", "Object", "Before", "After", "Request id"]
    assert [row[2] for row in values[1:]] == ["user.created", "user.disabled"]
    assert_error(await client.get("/api/v1/audit/export?since=2026-01-01T00:00:00", headers=admin), 422, "VALIDATION_ERROR")
    bad = assert_error(await client.get("/api/v1/audit/export?format=pdf", headers=admin), 422, "VALIDATION_ERROR")
    assert bad["details"][0]["path"] == "query.format"
    await add_user(db, "insp", "inspector")
    assert_error(await client.get("/api/v1/audit/export", headers=await login(client, "insp")), 403, "FORBIDDEN")

    small = create_app(msgspec.structs.replace(settings, audit_export_max_rows=3))
    async with AsyncTestClient(app=small) as other:
        token = await login(other, "admin")
        body = assert_error(await other.get("/api/v1/audit/export?format=csv", headers=token), 422, "EXPORT_TOO_LARGE")
        assert body["details"]["max_rows"] == 3 and body["details"]["total"] > 3
        narrowed = await other.get("/api/v1/audit/export?format=csv&actor=admin&action=user.created", headers=token)
        assert narrowed.status_code == 200 and len(_csv_rows(narrowed.content)) == 1 + 3
