"""The whole mission through the HTTP API, on SQLite and PostgreSQL (issue 7): a bureau imports
its units and inspectors, loads a catalog, plans and draws; inspectors check in, photograph and
log findings (one photo reused from another visit) and sync; the chief sees the flag and
confirms, adjusts and rejects; the office sees its deductions and appeals one; another chief
answers; the period is locked (a later write gets 409) and published; the leaderboard and the
register are right to the point; the ledger verifies.

The catalog is the test's own, one 100-point scale with per-occurrence rules, under a one-component
scheme, so every expected total can be checked by hand: total = 100 - points in force.
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from api.settings import Settings
from tests.support.api import PASSWORD, add_user, assert_error, auth, login
from tests.support.evidence import CST, evidence_settings, photo
from tests.support.field import now

PERIOD = "2026-SC"
UNITS_CSV = (
    "code,name,kind,district,grid,lat,lon,risk_class,credit,tier,parent_code\n"
    "DG,东莞市市场监督管理局,office,,,,,,,,\n"
    "DG-HM,虎门分局,office,滨海片区,G01,22.82,113.67,III,A,1,DG\n"
    "DG-CA,长安分局,office,滨海片区,G02,22.81,113.80,III,B,2,DG\n"
)
CASE_FILES_CSV = (
    "code,unit_code,type,closed_on,handlers\n"
    "虎门市监罚〔2026〕7号,DG-HM,enforcement,2026-05-04,张伟、李娜\n"
    "长安市监罚〔2026〕9号,DG-CA,enforcement,2026-06-01,王芳\n"
)
INSPECTORS_CSV = (
    "username,name,home_unit,home_grid,qualifications\n"
    "insp01,陈静,DG-HM,G01,field_visit、file_review\n"
    "insp02,刘洋,DG-CA,G02,field_visit、file_review\n"
)
CATALOG = """\
code: spot_checks
version: 1
name: 双随机抽查考核细则
name_en: Random spot-check rules
scale: 100
items:
  - code: visit
    name: 现场检查
    name_en: Field visit
    points: 60
    indicators:
      - code: visit.window_conduct
        name: 服务窗口违反服务规范
        name_en: Service window breaches service standards
        rule: {kind: per_occurrence, points: 1}
        task_kinds: [field_visit]
      - code: visit.ledger_missing
        name: 检查台账缺失
        name_en: Inspection ledger missing
        rule: {kind: per_occurrence, points: 3}
        task_kinds: [field_visit]
  - code: files
    name: 案卷评查
    name_en: Case files
    points: 40
    indicators:
      - code: files.evidence_insufficient
        name: 证据不充分
        name_en: Evidence insufficient
        rule: {kind: per_occurrence, points: 2}
        task_kinds: [file_review]
"""
POSITIONS = {"DG-HM": (22.82, 113.67), "DG-CA": (22.81, 113.80)}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return evidence_settings(database_url, tmp_path)


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _evidence(client: Any, headers: dict[str, str], body: bytes, task_id: str) -> str:
    response = await client.post("/api/v1/evidence", content=body, params={"task_id": task_id},
                                 headers={**headers, "Content-Type": "application/octet-stream"})
    return (await _ok(response, 201))["id"]


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def _now_in_china() -> datetime:
    """A phone's clock in China, as EXIF writes it (no zone; the offset tag says +08:00)."""
    return datetime.now(CST).replace(tzinfo=None, microsecond=0)


def _finding(task: dict[str, Any], indicator: str, **extra: Any) -> dict[str, Any]:
    return {"op": "finding", "finding": {"id": str(uuid.uuid4()), "task_id": task["id"], "indicator": indicator,
                                         "recorded_at": now(), **extra}}


async def test_the_whole_mission(db, client):
    # The bureau: accounts, registry, catalog, scheme, period.
    await add_user(db, "admin", "admin")  # the first account comes from `spotcheck user create`
    admin = await login(client, "admin")
    accounts = (("chief", "chief", None), ("chief2", "chief", None), ("insp01", "inspector", None),
                ("insp02", "inspector", None), ("unit-hm", "unit", "DG-HM"), ("unit-ca", "unit", "DG-CA"))
    for name, role, unit in accounts[:4]:
        await _ok(await client.post("/api/v1/users", json={"username": name, "role": role, "password": PASSWORD},
                                    headers=admin), 201)
    chief, chief2 = await login(client, "chief"), await login(client, "chief2")
    for kind, body in (("units", UNITS_CSV), ("case-files", CASE_FILES_CSV), ("inspectors", INSPECTORS_CSV)):
        await _ok(await client.post(f"/api/v1/imports/{kind}", content=body.encode(),
                                    headers={**chief, "Content-Type": "text/csv"}))
    for name, role, unit in accounts[4:]:  # a unit account names its unit, so after the import
        await _ok(await client.post("/api/v1/users", json={"username": name, "role": role, "password": PASSWORD,
                                                           "unit_code": unit}, headers=admin), 201)
    await _ok(await client.post("/api/v1/catalogs", content=CATALOG.encode(),
                                headers={**chief, "Content-Type": "application/yaml"}), 201)
    await _ok(await client.post("/api/v1/schemes/shipped/supervision_annual", headers=chief), 201)
    await _ok(await client.post("/api/v1/periods", headers=chief, json={
        "code": PERIOD, "name": "2026年双随机抽查", "starts_on": "2026-01-01", "ends_on": "2026-12-31",
        "catalog_code": "spot_checks", "scheme_code": "supervision_annual", "unit_kind": "office", "parent_code": "DG"}), 201)

    # Plan and draw: each office gets a visit and a file review, by the inspector of the other grid.
    plan = await _ok(await client.post("/api/v1/plans", headers=chief, json={
        "name": "2026年第四季度双随机抽查", "due_from": "2026-11-01", "due_to": "2026-12-31", "period": PERIOD,
        "params": {"units": {"filter": {"kind": ["office"], "parent_code": ["DG"]}, "rules": [{"size": 2}]},
                   "case_files": {"per_unit": {"size": 1}},
                   "assignment": {"task_kinds": ["field_visit", "file_review"], "team_size": 1}}}), 201)
    draw = await _ok(await client.post(f"/api/v1/plans/{plan['id']}/draw", json={"seed": "20261121"}, headers=chief), 201)
    tasks = (await client.get(f"/api/v1/tasks?plan_id={plan['id']}", headers=chief)).json()["items"]
    task = {(t["unit_code"], t["kind"]): t for t in tasks}
    assert sorted(task) == [("DG-CA", "field_visit"), ("DG-CA", "file_review"), ("DG-HM", "field_visit"), ("DG-HM", "file_review")]
    assert {t["unit_code"]: t["team"] for t in tasks} == {"DG-HM": ["insp02"], "DG-CA": ["insp01"]}
    who = {"DG-HM": await login(client, "insp02"), "DG-CA": await login(client, "insp01")}
    mine = (await client.get("/api/v1/me/tasks", headers=who["DG-HM"])).json()["items"]
    assert {t["id"] for t in mine} == {task["DG-HM", "field_visit"]["id"], task["DG-HM", "file_review"]["id"]}

    # In the field: check in on site, photograph (the 长安 inspector reuses the 虎门 photo), sync.
    photos: dict[str, str] = {}
    shots = {unit: photo(seed, taken=_now_in_china(), gps=POSITIONS[unit]) for unit, seed in (("DG-HM", 1), ("DG-CA", 2))}
    for unit in ("DG-HM", "DG-CA"):
        visit = task[unit, "field_visit"]
        lat, lon = POSITIONS[unit]
        await _ok(await client.post(f"/api/v1/tasks/{visit['id']}/check-ins", headers=who[unit], json={
            "id": str(uuid.uuid4()), "lat": lat, "lon": lon, "accuracy_m": 8, "device_time": now()}), 201)
        photos[unit] = await _evidence(client, who[unit], shots[unit], visit["id"])
    reused = await _evidence(client, who["DG-CA"], shots["DG-HM"], task["DG-CA", "field_visit"]["id"])
    hm_visit, ca_visit = task["DG-HM", "field_visit"], task["DG-CA", "field_visit"]
    hm_case = task["DG-HM", "file_review"]["case_files"][0]
    operations = {
        "DG-HM": [_finding(hm_visit, "visit.window_conduct", count=2, note="窗口无人值守", evidence_ids=[photos["DG-HM"]]),
                  _finding(hm_visit, "visit.ledger_missing", note="检查台账缺失"),
                  _finding(task["DG-HM", "file_review"], "files.evidence_insufficient", case_file=hm_case, staff=["张伟"]),
                  {"op": "submit", "task_id": hm_visit["id"]}, {"op": "submit", "task_id": task["DG-HM", "file_review"]["id"]}],
        "DG-CA": [_finding(ca_visit, "visit.window_conduct", note="窗口无人值守", evidence_ids=[reused]),
                  _finding(ca_visit, "visit.ledger_missing", evidence_ids=[photos["DG-CA"]]),
                  {"op": "submit", "task_id": ca_visit["id"]}],
    }
    for unit, ops in operations.items():
        for attempt in ("first", "again"):  # a dropped connection: the phone sends the same batch again
            answer = await _ok(await client.post("/api/v1/sync", json={"operations": ops}, headers=who[unit]))
            created = 201 if attempt == "first" else 200  # a replayed finding is answered, not doubled
            assert [r["status"] for r in answer["results"]] == [created if op["op"] == "finding" else 200 for op in ops], answer
    finding_ids = {op["finding"]["id"]: op for ops in operations.values() for op in ops if op["op"] == "finding"}

    # Review: the reused photo (the copy, filed later) is flagged, pointing at the original,
    # and comes first; the original's own finding is not flagged. Confirm, adjust, reject.
    queue = await _ok(await client.get(f"/api/v1/reviews?period={PERIOD}&limit=100", headers=chief))
    assert queue["total"] == 5 and {i["finding"]["id"] for i in queue["items"]} == set(finding_ids)
    flags = {i["finding"]["id"]: i["flags"] for i in queue["items"]}
    ca_window, hm_window = operations["DG-CA"][0]["finding"]["id"], operations["DG-HM"][0]["finding"]["id"]
    assert flags[ca_window] == ["far_from_unit", "reused_exact"] and flags[hm_window] == [], flags
    assert [bool(i["flags"]) for i in queue["items"]] == [True, False, False, False, False]  # flagged first
    reuse = {i["finding"]["id"]: next(f for e in i["evidence"] for f in e["flags"] if f["code"] == "reused_exact")
             for i in queue["items"] if i["flags"]}
    assert reuse == {ca_window: reuse[ca_window]} and reuse[ca_window]["evidence_ids"] == [photos["DG-HM"]]
    deduction = {i["finding"]["id"]: i["deduction_id"] for i in queue["items"]}
    d = {key: deduction[op["finding"]["id"]] for key, op in (
        ("hm_window", operations["DG-HM"][0]), ("hm_ledger", operations["DG-HM"][1]), ("hm_file", operations["DG-HM"][2]),
        ("ca_window", operations["DG-CA"][0]), ("ca_ledger", operations["DG-CA"][1]))}
    decisions = {"decisions": [
        {"deduction_id": d["hm_window"], "action": "confirm"},
        {"deduction_id": d["hm_ledger"], "action": "adjust", "points": 1.5, "reason": "台账部分缺失"},
        {"deduction_id": d["hm_file"], "action": "confirm"},
        {"deduction_id": d["ca_window"], "action": "reject", "reason": "照片系虎门分局检查时所摄，重复使用"},
        {"deduction_id": d["ca_ledger"], "action": "confirm"}]}
    decided = await _ok(await client.post("/api/v1/deductions/decisions", json=decisions, headers=chief))
    assert [r["status_code"] for r in decided["results"]] == [200] * 5, decided

    # The office sees its standing deductions with their basis and appeals one; another chief answers.
    unit_hm, unit_ca = await login(client, "unit-hm"), await login(client, "unit-ca")
    told = await _ok(await client.get("/api/v1/me/deductions", headers=unit_hm))
    assert {i["deduction_id"]: i["points"] for i in told["items"]} == {d["hm_window"]: 2, d["hm_ledger"]: 1.5, d["hm_file"]: 2}
    window = next(i for i in told["items"] if i["deduction_id"] == d["hm_window"])
    assert window["indicator"] == "visit.window_conduct" and window["note"] == "窗口无人值守"
    assert window["evidence_ids"] == [photos["DG-HM"]] and window["rule_points"] == 2 and window["count"] == 2
    shown = await client.get(f"/api/v1/evidence/{photos['DG-HM']}/thumbnail?size=256", headers=unit_hm)
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert {i["deduction_id"] for i in (await client.get("/api/v1/me/deductions", headers=unit_ca)).json()["items"]} == {d["ca_ledger"]}
    appeal = await _ok(await client.post(f"/api/v1/deductions/{d['hm_window']}/appeals", headers=unit_hm,
                                         json={"text": "当日窗口人员外出送达文书，已登记", "evidence_ids": []}), 201)
    assert_error(await client.post(f"/api/v1/appeals/{appeal['id']}/decision", headers=chief,
                                   json={"outcome": "uphold", "reason": "维持"}), 403)  # confirmed it: four eyes
    answered = await _ok(await client.post(f"/api/v1/appeals/{appeal['id']}/decision", headers=chief2,
                                           json={"outcome": "partial", "points": 1, "reason": "外出有登记，减半扣分"}))
    assert (answered["status"], answered["points"]) == ("partial", 1)

    # Lock: a later write that would change the scores is refused; then publish.
    await _ok(await client.post(f"/api/v1/periods/{PERIOD}/lock", headers=chief))
    assert_error(await client.put(f"/api/v1/periods/{PERIOD}/measurements", headers=chief, json={
        "unit_code": "DG-HM", "metric": "anything", "value": 1, "source": "迟到的数据"}), 409, "PERIOD_LOCKED")
    assert_error(await client.post(f"/api/v1/deductions/{d['ca_window']}/decision", headers=chief,
                                   json={"action": "confirm"}), 409, "PERIOD_LOCKED")
    await _ok(await client.post(f"/api/v1/periods/{PERIOD}/publish", headers=chief))

    # Published: every signed-in user sees the leaderboard and the draw with its population digest.
    expected = {"DG-CA": 97.0, "DG-HM": 95.5}  # 100 - 3; 100 - (1 after appeal + 1.5 adjusted + 2)
    for headers in (chief, unit_hm, who["DG-CA"]):
        board = await _ok(await client.get(f"/api/v1/leaderboard?period={PERIOD}", headers=headers))
        assert [(r["unit_code"], r["total"], r["rank"]) for r in board["items"]] == [("DG-CA", 97.0, 1), ("DG-HM", 95.5, 2)]
    explained = await _ok(await client.get(f"/api/v1/units/DG-HM/scores?period={PERIOD}", headers=unit_hm))
    assert explained["total"] == expected["DG-HM"]
    public = await _ok(await client.get(f"/api/v1/draws/{draw['id']}", headers=unit_ca))
    assert public["draw"]["id"] == draw["id"] and public["draw"]["published_at"]
    assert public["draw"]["population_digest"] == draw["population_digest"] and public["record"]
    checked = await _ok(await client.post(f"/api/v1/draws/{draw['id']}/verify", json={}, headers=unit_ca))
    assert checked["ok"] is True

    # The register (评分登记表): the office's own, in Chinese, and the chief's of the other office.
    register = _csv(await client.get(f"/api/v1/periods/{PERIOD}/register?format=csv&lang=zh", headers=unit_hm))
    assert {r["扣分编号"]: (r["指标"], r["扣分"], r["现行扣分"], r["状态"]) for r in register} == {
        d["hm_window"]: ("服务窗口违反服务规范", "2.0", "1.0", "复议部分撤销"),
        d["hm_ledger"]: ("检查台账缺失", "3.0", "1.5", "已调整"),
        d["hm_file"]: ("证据不充分", "2.0", "2.0", "已确认")}
    hm_rows = {r["扣分编号"]: r for r in register}
    assert hm_rows[d["hm_window"]]["证据SHA-256"] == hashlib.sha256(shots["DG-HM"]).hexdigest()
    assert hm_rows[d["hm_file"]]["案卷"] == hm_case and hm_rows[d["hm_file"]]["责任人"] == "张伟"
    assert sum(float(r["现行扣分"]) for r in register) == 100 - expected["DG-HM"]
    other = _csv(await client.get(f"/api/v1/periods/{PERIOD}/register?unit=DG-CA&format=csv&lang=en", headers=chief))
    assert {r["Deduction id"]: (r["Points in force"], r["Status"]) for r in other} == {
        d["ca_window"]: ("0.0", "rejected"), d["ca_ledger"]: ("3.0", "confirmed")}
    assert_error(await client.get(f"/api/v1/periods/{PERIOD}/register?unit=DG-CA&format=csv", headers=unit_hm), 404)

    # The ledger holds the mission and verifies.
    verified = await _ok(await client.get("/api/v1/ledger/verify", headers=admin))
    assert verified["ok"] is True and verified["blobs_checked"] and verified["entries"] >= 3 + 5 + 2, verified  # photos, decisions, appeal
