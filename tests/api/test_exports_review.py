"""Exports of review: the deduction register (评分登记表) per unit and period and the leaderboard,
as CSV (UTF-8 with BOM) and XLSX with English or Chinese headers, read back and checked."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from api.models_review import Notice
from api.models_scoring import Deduction
from api.periods import catalog_of, get_period, scheme_of
from api.scores import period_grading
from api.settings import Settings
from tests.support.api import add_user, assert_error, login
from tests.support.evidence import digest, evidence_settings, photo, upload
from tests.support.field import field_setup, finding_body, submit

PERIOD = "2026-H2"
VISIT_RULE = "inspection.window_conduct"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return evidence_settings(database_url, tmp_path)


@pytest.fixture
async def field(app, db, client):
    return await field_setup(app, db, client)


def read_csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def read_xlsx(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    return [dict(zip(rows[0], row)) for row in rows[1:]]


async def _deductions(db, client, field):
    """On one office's (unannounced) visit: five findings with a photo, decided five ways."""
    task = field.task("field_visit")
    me = field.member(task)
    body = photo(21)
    filed = await upload(client, me, body, task_id=task["id"])
    assert filed.status_code == 201, filed.text
    ids = {}
    for name in ("confirmed", "adjusted", "rejected", "proposed", "overturned"):
        finding = finding_body(task, VISIT_RULE, note=f"窗口无人值守（{name}）", staff=["张伟"], evidence_ids=[filed.json()["id"]])
        created = await client.post("/api/v1/findings", json=finding, headers=me)
        assert created.status_code == 201, created.text
        ids[name] = created.json()["deduction_id"]
    await submit(client, field, task)
    decisions = {"confirmed": {"action": "confirm"}, "adjusted": {"action": "adjust", "points": 0.5, "reason": "情节轻微"},
                 "rejected": {"action": "reject", "reason": "照片不清"}, "overturned": {"action": "confirm"}}
    for name, decision in decisions.items():
        r = await client.post(f"/api/v1/deductions/{ids[name]}/decision", json=decision, headers=field.chief)
        assert r.status_code == 200, r.text
    await add_user(db, "own", "unit", task["unit_code"])
    await add_user(db, "chief2", "chief")
    own, chief2 = await login(client, "own"), await login(client, "chief2")
    appeal = await client.post(f"/api/v1/deductions/{ids['overturned']}/appeals", json={"text": "有人值守"}, headers=own)
    answer = await client.post(f"/api/v1/appeals/{appeal.json()['id']}/decision",
                               json={"outcome": "overturn", "reason": "复核属实"}, headers=chief2)
    assert answer.status_code == 200, answer.text
    return task, ids, digest(body), own


async def test_the_register_for_chiefs_and_for_the_unit(db, client, field):
    task, ids, sha, own = await _deductions(db, client, field)
    unit = task["unit_code"]
    url = f"/api/v1/periods/{PERIOD}/register"
    rows = read_csv(await client.get(f"{url}?unit={unit}&format=csv&lang=zh", headers=field.chief))
    mine = {r["扣分编号"]: r for r in rows}
    async with db() as session:
        stored = (await session.execute(select(func.count()).select_from(Deduction).where(Deduction.unit_code == unit))).scalar_one()
    assert len(rows) == stored and set(ids.values()) <= set(mine)  # the demo's proposed ones too
    assert {r["单位代码"] for r in rows} == {unit}
    by_name = {name: mine[i] for name, i in ids.items()}
    assert {n: (r["状态"], r["扣分"], r["现行扣分"]) for n, r in by_name.items()} == {
        "confirmed": ("已确认", "1.0", "1.0"), "adjusted": ("已调整", "1.0", "0.5"), "rejected": ("已驳回", "1.0", "0.0"),
        "proposed": ("待审核", "1.0", ""), "overturned": ("复议撤销", "1.0", "0.0")}
    confirmed = by_name["confirmed"]
    assert (confirmed["指标代码"], confirmed["指标"], confirmed["考核项目"]) == (VISIT_RULE, "服务窗口违反服务规范", "督察工作")
    assert confirmed["问题描述"] == "窗口无人值守（confirmed）" and confirmed["责任人"] == "张伟"
    assert confirmed["证据SHA-256"] == sha and confirmed["检查组"] == "、".join(task["team"])
    assert confirmed["记录人"] == task["team"][0] and confirmed["审核人"] == "chief"
    assert confirmed["确认时间"].endswith("+08:00") and confirmed["告知时间"] == ""
    assert (by_name["adjusted"]["审核意见"], by_name["rejected"]["审核意见"]) == ("情节轻微", "照片不清")
    assert (by_name["overturned"]["复议结果"], by_name["overturned"]["复议意见"]) == ("撤销", "复核属实")
    everyone = read_csv(await client.get(f"{url}?format=csv&lang=en", headers=field.chief))
    async with db() as session:
        assert len(everyone) == (await session.execute(
            select(func.count()).select_from(Deduction).where(Deduction.period_code == PERIOD))).scalar_one()
    assert len({r["Unit code"] for r in everyone}) > 1 and [r["Unit code"] for r in everyone] == sorted(r["Unit code"] for r in everyone)

    # The unit: what stands against it (decisions wait for the submitted visit: test_reviews.py).
    seen = read_xlsx(await client.get(f"{url}?format=xlsx&lang=en", headers=own))
    assert {r["Deduction id"]: (r["Status"], r["Points in force"]) for r in seen} == {
        ids["confirmed"]: ("confirmed", 1.0), ids["adjusted"]: ("adjusted", 0.5), ids["overturned"]: ("overturned", 0)}
    assert all(r["Note"].startswith("窗口无人值守") and r["Evidence SHA-256"] == sha for r in seen)
    assert seen == read_xlsx(await client.get(f"{url}?unit={unit}&format=xlsx&lang=en", headers=own))
    # Downloading it told the unit (once, audited).
    async with db() as session:
        notices = {str(n.deduction_id): n.notified_by for n in (await session.execute(select(Notice))).scalars()}
    assert notices == {ids[n]: "own" for n in ("confirmed", "adjusted", "overturned")}
    reads = (await client.get("/api/v1/audit?action=notice.read", headers=field.chief)).json()
    assert reads["total"] == 3
    assert all(r["Notified at"] for r in seen)


async def test_who_may_download_the_register(db, client, field):
    task = field.task("field_visit")
    other = next(t["unit_code"] for t in field.tasks if t["unit_code"] != task["unit_code"])
    await add_user(db, "own", "unit", task["unit_code"])
    await add_user(db, "admin", "admin")
    own, admin = await login(client, "own"), await login(client, "admin")
    url = f"/api/v1/periods/{PERIOD}/register"
    for headers in (admin, field.chief, own):
        r = await client.get(f"{url}?format=csv", headers=headers)
        assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert_error(await client.get(url, headers=field.member(task)), 403, "FORBIDDEN")
    assert_error(await client.get(url), 401)
    # Another unit's register is answered exactly as a unit that does not exist.
    for code in (other, "NO-SUCH-UNIT"):
        body = assert_error(await client.get(f"{url}?unit={code}", headers=own), 404, "NOT_FOUND")
        assert body == {"code": "NOT_FOUND", "message": f"No unit {code!r}.", "details": {"code": code}}
    assert_error(await client.get(f"{url}?unit=NO-SUCH-UNIT", headers=field.chief), 404, "NOT_FOUND")
    assert (await client.get(f"{url}?unit={other}", headers=field.chief)).status_code == 200
    assert_error(await client.get(f"/api/v1/periods/NOPE/register", headers=field.chief), 404, "NOT_FOUND")
    for query in ("format=pdf", "lang=fr", "unit="):
        assert_error(await client.get(f"{url}?{query}", headers=field.chief), 422, "VALIDATION_ERROR")


def _figures(row: dict[str, Any], items: list[tuple[str, str]], header: dict[str, str]) -> tuple[Any, ...]:
    return (int(row[header["rank"]]), row[header["unit_code"]], float(row[header["total"]]),
            tuple(float(row[name]) for _, name in items))


@pytest.mark.parametrize("basis", ["confirmed", "provisional"])
async def test_the_leaderboard_export_equals_the_json(db, client, field, basis):
    await _deductions(db, client, field)
    board = (await client.get(f"/api/v1/leaderboard?period={PERIOD}&basis={basis}&limit=500", headers=field.chief)).json()
    async with db() as session:
        catalog = await catalog_of(session, await get_period(session, PERIOD))
    names = {item.code: item.name for item in catalog.items}
    grades = {band.code: (band.name, band.name_en) for band in period_grading(catalog, await _scheme(db)).bands}
    items = [(i["code"], names[i["code"]]) for i in board["items"][0]["items"]]
    expected = [(r["rank"], r["unit_code"], r["total"], tuple(i["score"] for i in r["items"])) for r in board["items"]]
    assert len({e[2] for e in expected}) > 1  # the figures differ between units
    zh = {"rank": "排名", "unit_code": "单位代码", "total": "总分"}
    rows = read_csv(await client.get(f"/api/v1/leaderboard/export?period={PERIOD}&basis={basis}&format=csv&lang=zh",
                                     headers=field.chief))
    assert [_figures(r, items, zh) for r in rows] == expected
    assert list(rows[0])[:4] == ["排名", "单位代码", "单位", "总分"] and "等级" in rows[0] and "一票否决" in rows[0]
    assert [r["单位"] for r in rows] == [r["unit_name"] for r in board["items"]]
    # A grade by its band's name, as a person reads it (the JSON gives its code).
    assert [r["等级"] for r in rows] == [grades[r["grade"]][0] if r["grade"] else "" for r in board["items"]]
    assert any(r["等级"] for r in rows)
    assert {r["一票否决"] for r in rows} <= {"是", "否"}
    sheet = read_xlsx(await client.get(f"/api/v1/leaderboard/export?period={PERIOD}&basis={basis}&format=xlsx&lang=zh",
                                       headers=field.chief))
    assert [_figures(r, items, zh) for r in sheet] == expected
    assert all(isinstance(r["总分"], float) or isinstance(r["总分"], int) for r in sheet)
    english = read_csv(await client.get(f"/api/v1/leaderboard/export?period={PERIOD}&basis={basis}&format=csv&lang=en",
                                        headers=field.chief))
    en_items = [(code, next(i.name_en for i in catalog.items if i.code == code)) for code, _ in items]
    assert [_figures(r, en_items, {"rank": "Rank", "unit_code": "Unit code", "total": "Total"}) for r in english] == expected
    assert {r["Veto"] for r in english} <= {"yes", "no"}
    assert [r["Grade"] for r in english] == [grades[r["grade"]][1] if r["grade"] else "" for r in board["items"]]


async def test_who_may_download_the_leaderboard(db, client, field):
    task, _, _, own = await _deductions(db, client, field)
    await add_user(db, "admin", "admin")
    admin = await login(client, "admin")
    url = f"/api/v1/leaderboard/export?period={PERIOD}&format=csv"
    for headers in (admin, field.chief):
        assert len(read_csv(await client.get(url, headers=headers))) == 33
    # Inspectors see scores once the period is published (tests/api/test_permissions.py).
    assert_error(await client.get(url, headers=field.member(task)), 403, "NOT_PUBLISHED")
    # A unit: its own row, with its rank among all, on the confirmed basis only (as the JSON).
    row = read_csv(await client.get(url, headers=own))
    board = (await client.get(f"/api/v1/leaderboard?period={PERIOD}", headers=own)).json()["items"]
    assert [(int(r["排名"]), r["单位代码"], float(r["总分"])) for r in row] == [(b["rank"], b["unit_code"], b["total"]) for b in board]
    assert [r["单位代码"] for r in row] == [task["unit_code"]]
    assert_error(await client.get(f"{url}&basis=provisional", headers=own), 403, "FORBIDDEN")
    assert_error(await client.get(url), 401)
    assert_error(await client.get(f"/api/v1/leaderboard/export?period=NOPE", headers=field.chief), 404, "NOT_FOUND")
    assert (await client.get(f"/api/v1/leaderboard/export?period={PERIOD}&format=pdf", headers=field.chief)).status_code == 422



async def _scheme(db):
    async with db() as session:
        return await scheme_of(session, await get_period(session, PERIOD))
