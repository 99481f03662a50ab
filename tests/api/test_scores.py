"""Scores over HTTP: explained unit scores equal to the library's, provisional vs confirmed,
adjusted and rejected deductions, leaderboard ranks and grades, pinned versions, rescaled
grading, staff totals, and who sees what."""

from __future__ import annotations

import json
import uuid

import pytest
import yaml
from sqlalchemy import update

from api.deductions import create_deduction
from api.errors import Conflict, NotFound, ValidationFailed
from api.models import Unit as UnitRow
from api.models_scoring import Period
from api.schemas.scoring import DeductionCreate
from scoring import Finding, InputError, Ranking, Unit, score_period, shipped_catalog, shipped_scheme
from tests.support.api import add_user, assert_error, login, seed_registry
from tests.support.scoring import add_offices, insert_deduction, load_shipped, open_period, shipped_bytes

OFFICES = ["DG-A", "DG-B", "DG-C", "DG-CA", "DG-HM"]
FINDING = uuid.UUID("00000000-0000-4000-8000-000000000001")


@pytest.fixture
async def chief(db, client):
    await seed_registry(db)
    await add_offices(db, "DG-A", "DG-B", "DG-C")
    await add_user(db, "chief", "chief")
    h = await login(client, "chief")
    await load_shipped(client, h, "office_deductions.catalog", "dongguan_branch_2010.catalog", "branch_annual.scheme")
    return h


@pytest.fixture
async def scored(db, client, chief):
    """Five offices; ``(kwargs, status, adjusted)`` per deduction, kept to rebuild the inputs."""
    await open_period(client, chief)
    plan = [
        ("DG-HM", "supervision.not_handled", {"staff": ["张伟"], "failed_to_deduct_by": "王主任", "finding_id": FINDING}, "confirmed", None),
        ("DG-HM", "archives.important_lost", {"count": 2, "staff": ["张伟", "李娜"]}, "proposed", None),
        ("DG-HM", "commendation.award", {"level": "prefecture", "achievement": "文明窗口"}, "confirmed", None),
        ("DG-CA", "confidentiality.incident", {}, "confirmed", None),
        ("DG-A", "supervision.not_handled", {"count": 5}, "confirmed", None),
        ("DG-A", "proposals.not_handled", {"count": 3}, "confirmed", None),
        ("DG-A", "documents.form_error", {}, "confirmed", None),
        ("DG-B", "supervision.late", {"count": 4, "staff": ["刘洋"]}, "rejected", None),
        ("DG-B", "archives.important_lost", {"staff": ["陈静"]}, "adjusted", 2.0),
    ]
    ids = []
    for unit, indicator, fields, status, adjusted in plan:
        ids.append(await insert_deduction(db, "2026-H2", unit, indicator, status=status, adjusted_points=adjusted, **fields))
    return [(i, *p) for i, p in zip(ids, plan)]


def library_scores(scored, basis):
    """What the scoring library computes directly from the same inputs."""
    counted = {"provisional": {"proposed", "confirmed", "adjusted"}, "confirmed": {"confirmed", "adjusted"}}[basis]
    findings = [
        Finding(id=i, unit=unit, indicator=indicator, status="proposed" if status == "proposed" else "confirmed",
                points=adjusted, **{k: tuple(v) if k == "staff" else v for k, v in fields.items() if k != "finding_id"})
        for i, unit, indicator, fields, status, adjusted in scored if status in counted
    ]
    scheme = shipped_scheme("branch_annual")
    return {s.unit: s for s in score_period(shipped_catalog("office_deductions"), [Unit(code=c) for c in OFFICES], findings,
                                            period="2026-H2", basis=basis, grading=scheme.grading, ranking=Ranking(commend_top=3))}


@pytest.mark.parametrize("basis", ["provisional", "confirmed"])
async def test_scores_equal_the_librarys_for_the_same_inputs(client, chief, scored, basis):
    expected = library_scores(scored, basis)
    board = (await client.get(f"/api/v1/leaderboard?period=2026-H2&basis={basis}", headers=chief)).json()
    assert (board["catalog_code"], board["catalog_version"], board["scheme_code"], board["total"]) == ("office_deductions", 1, "branch_annual", 5)
    for row in board["items"]:
        lib = expected[row["unit_code"]]
        assert (row["total"], row["rank"], row["grade"], row["passed"], row["accountability"], row["commended"],
                row["flagged"], row["vetoed"]) == (lib.total, lib.rank, lib.grade, lib.passed, lib.accountability,
                                                   lib.commended, lib.flagged, lib.vetoed)
        assert [i["score"] for i in row["items"]] == [i.score for i in lib.items]
        explained = (await client.get(f"/api/v1/units/{row['unit_code']}/scores?period=2026-H2&basis={basis}", headers=chief)).json()
        assert (explained["total"], explained["rank"], explained["grade"]) == (lib.total, lib.rank, lib.grade)
        assert [(i["code"], i["deducted"], i["added"], i["score"], i["floored"]) for i in explained["items"]] == [
            (i.code, i.deducted, i.added, i.score, i.floored) for i in lib.items]


async def test_confirmed_and_provisional_differ_by_what_is_only_proposed(client, chief, scored):
    confirmed = (await client.get("/api/v1/leaderboard?period=2026-H2", headers=chief)).json()
    assert confirmed["basis"] == "confirmed"  # the default
    rows = [(r["unit_code"], r["total"], r["rank"], r["grade"], r["commended"], r["vetoed"]) for r in confirmed["items"]]
    assert rows == [
        ("DG-C", 100, 1, "passed", True, False),
        ("DG-CA", 100, 1, "not_passed", False, True),  # a veto keeps its points and rank, not its pass
        ("DG-HM", 100, 1, "passed", True, False),  # 100 - 5 + 5 bonus
        ("DG-B", 98, 4, "passed", True, False),  # adjusted to 2 points; the rejected deduction never counts
        ("DG-A", 64, 5, "accountable", False, False),  # supervision floored at 0 (25 > 20), proposals 15, documents 1
    ]
    assert [r["accountability"] for r in confirmed["items"]] == [False, False, False, False, True]
    provisional = (await client.get("/api/v1/leaderboard?period=2026-H2&basis=provisional", headers=chief)).json()
    hm = next(r for r in provisional["items"] if r["unit_code"] == "DG-HM")
    assert (hm["total"], hm["rank"]) == (90, 4)
    page = (await client.get("/api/v1/leaderboard?period=2026-H2&limit=2&offset=3", headers=chief)).json()
    assert [r["unit_code"] for r in page["items"]] == ["DG-B", "DG-A"] and page["total"] == 5


async def test_unit_score_explains_down_to_deductions_and_findings(client, chief, scored):
    ids = {(unit, indicator): i for i, unit, indicator, *_ in scored}
    r = await client.get("/api/v1/units/DG-HM/scores?period=2026-H2&basis=provisional", headers=chief)
    assert r.status_code == 200, r.text
    s = r.json()
    assert (s["unit_name"], s["total"], s["scored_total"], s["bonus"], s["basis"]) == ("虎门分局", 90, 85, 5, "provisional")
    items = {i["code"]: i for i in s["items"]}
    supervision = items["supervision"]["indicators"][1]
    assert supervision["code"] == "supervision.not_handled" and supervision["deducted"] == 5
    [line] = supervision["deductions"]
    assert line == {"deduction_id": ids[("DG-HM", "supervision.not_handled")], "finding_id": str(FINDING), "status": "confirmed",
                    "points": 5, "effect": "deduct", "counted": True, "staff": ["张伟"], "explanation": "1 x 5 = 5 points"}
    lost = items["archives"]["indicators"][2]["deductions"][0]
    assert (lost["status"], lost["points"], lost["finding_id"]) == ("proposed", 10, None)
    assert items["commendation"]["added"] == 5 and items["commendation"]["kind"] == "bonus"
    confirmed = (await client.get("/api/v1/units/DG-HM/scores?period=2026-H2", headers=chief)).json()
    assert confirmed["total"] == 100 and confirmed["items"][5]["indicators"][2]["deductions"] == []
    adjusted = (await client.get("/api/v1/units/DG-B/scores?period=2026-H2", headers=chief)).json()
    [line] = adjusted["items"][5]["indicators"][2]["deductions"]
    assert (line["status"], line["points"], line["explanation"]) == ("adjusted", 2, "adjusted on review to 2 points")
    vetoed = (await client.get("/api/v1/units/DG-CA/scores?period=2026-H2", headers=chief)).json()
    assert vetoed["vetoed"] and vetoed["vetoes"] == [{"indicator": "confidentiality.incident",
                                                      "deduction_id": ids[("DG-CA", "confidentiality.incident")], "finding_id": None}]
    assert_error(await client.get("/api/v1/units/DG-HM-001/scores?period=2026-H2", headers=chief), 404)  # an entity: not assessed
    assert_error(await client.get("/api/v1/units/NOPE/scores?period=2026-H2", headers=chief), 404)
    assert_error(await client.get("/api/v1/units/DG-HM/scores?period=2030", headers=chief), 404)
    assert_error(await client.get("/api/v1/units/DG-HM/scores", headers=chief), 422)
    assert_error(await client.get("/api/v1/units/DG-HM/scores?period=2026-H2&basis=final", headers=chief), 422)


async def test_measurements_feed_targets_with_their_source(client, chief):
    await open_period(client, chief, catalog="dongguan_branch_2010")
    csv = ("unit_code,metric,value,source,elapsed\n"
           "DG-HM,mystery_shopping_stars,3.5,暗访系统,\n"
           "DG-HM,annual_inspection_rate,70,年检系统,0.75\n")
    assert (await client.post("/api/v1/periods/2026-H2/measurements/import", content=csv.encode(), headers=chief)).status_code == 200
    s = (await client.get("/api/v1/units/DG-HM/scores?period=2026-H2", headers=chief)).json()
    window = s["items"][0]["sub_items"][1]["indicators"][0]
    assert (window["deducted"], window["measurement"]["value"], window["measurement"]["source"]) == (1.5, 3.5, "暗访系统")
    assert [(w["indicator"], w["level"], w["shortfall"]) for w in s["warnings"]] == [
        ("enterprise.annual_inspection.progress", "serious_warning", 15)]
    assert "complaint_handling_rate" in s["missing_metrics"] and "mystery_shopping_stars" not in s["missing_metrics"]
    row = next(r for r in (await client.get("/api/v1/leaderboard?period=2026-H2", headers=chief)).json()["items"] if r["unit_code"] == "DG-HM")
    assert (row["warning_level"], row["warnings"], row["total"]) == ("serious_warning", 1, s["total"])


async def test_a_period_keeps_scoring_with_the_version_it_opened_with(db, client, chief):
    await open_period(client, chief, "2026-H1")
    await insert_deduction(db, "2026-H1", "DG-HM", "supervision.not_handled", status="confirmed")
    v2 = yaml.safe_load(shipped_bytes("office_deductions.catalog"))
    v2["version"] = 2
    v2["items"][3]["indicators"][1]["rule"]["points"] = 8  # supervision.not_handled: 5 -> 8
    assert (await client.post("/api/v1/catalogs", content=json.dumps(v2).encode(), headers=chief)).status_code == 201
    old = (await client.get("/api/v1/units/DG-HM/scores?period=2026-H1", headers=chief)).json()
    assert (old["catalog_version"], old["total"]) == (1, 95)
    await open_period(client, chief, "2026-H2")
    await insert_deduction(db, "2026-H2", "DG-HM", "supervision.not_handled", status="confirmed")
    new = (await client.get("/api/v1/units/DG-HM/scores?period=2026-H2", headers=chief)).json()
    assert (new["catalog_version"], new["total"]) == (2, 92)


async def test_grading_lines_follow_a_1000_point_catalog(db, client, chief):
    fine = yaml.safe_load(shipped_bytes("office_deductions.catalog"))
    fine.update(code="office_1000", scale=1000)
    for item in fine["items"]:
        item["points"] = item.get("points", 0) * 10 if item.get("kind") != "bonus" else item.get("points")
    assert (await client.post("/api/v1/catalogs", content=json.dumps(fine).encode(), headers=chief)).status_code == 201
    await open_period(client, chief, catalog="office_1000")
    await insert_deduction(db, "2026-H2", "DG-HM", "supervision.not_handled", count=30, status="confirmed")  # 850
    await insert_deduction(db, "2026-H2", "DG-CA", "supervision.not_handled", count=31, status="confirmed")  # 845
    rows = {r["unit_code"]: r for r in (await client.get("/api/v1/leaderboard?period=2026-H2", headers=chief)).json()["items"]}
    assert (rows["DG-HM"]["total"], rows["DG-HM"]["grade"], rows["DG-HM"]["passed"]) == (850, "passed", True)
    assert (rows["DG-CA"]["total"], rows["DG-CA"]["grade"], rows["DG-CA"]["passed"]) == (845, "not_passed", False)


async def test_staff_totals_charge_responsible_people_and_heads_double(client, chief, scored):
    ids = {(unit, indicator): i for i, unit, indicator, *_ in scored}
    confirmed = (await client.get("/api/v1/periods/2026-H2/staff-totals", headers=chief)).json()
    assert [(t["staff"], t["points"]) for t in confirmed["items"]] == [("张伟", 5), ("王主任", 10), ("陈静", 2)]
    head = confirmed["items"][1]["charges"][0]
    assert head == {"deduction_id": ids[("DG-HM", "supervision.not_handled")], "finding_id": str(FINDING), "unit_code": "DG-HM",
                    "indicator": "supervision.not_handled", "points": 10, "role": "head_failed_to_deduct"}
    provisional = (await client.get("/api/v1/periods/2026-H2/staff-totals?basis=provisional", headers=chief)).json()
    assert [(t["staff"], t["points"]) for t in provisional["items"]] == [("张伟", 15), ("李娜", 10), ("王主任", 10), ("陈静", 2)]
    assert_error(await client.get("/api/v1/periods/nope/staff-totals", headers=chief), 404)


async def test_a_unit_sees_only_its_own_confirmed_scores(db, client, chief, scored):
    await add_user(db, "hm", "unit", "DG-HM")
    await add_user(db, "insp", "inspector")
    unit = await login(client, "hm")
    own = await client.get("/api/v1/units/DG-HM/scores?period=2026-H2", headers=unit)
    assert own.status_code == 200 and own.json()["total"] == 100
    assert_error(await client.get("/api/v1/units/DG-CA/scores?period=2026-H2", headers=unit), 404, "NOT_FOUND")
    assert_error(await client.get("/api/v1/units/DG-HM/scores?period=2026-H2&basis=provisional", headers=unit), 403, "FORBIDDEN")
    board = (await client.get("/api/v1/leaderboard?period=2026-H2", headers=unit)).json()
    assert [(r["unit_code"], r["rank"]) for r in board["items"]] == [("DG-HM", 1)] and board["total"] == 1
    assert_error(await client.get("/api/v1/leaderboard?period=2026-H2&basis=provisional", headers=unit), 403)
    staff = (await client.get("/api/v1/periods/2026-H2/staff-totals", headers=unit)).json()
    assert [t["staff"] for t in staff["items"]] == ["张伟", "王主任"]  # not 陈静, charged by DG-B
    insp = await login(client, "insp")
    # Inspectors see scores once the period is published (tests/api/test_permissions.py), not before.
    assert_error(await client.get("/api/v1/leaderboard?period=2026-H2", headers=insp), 403, "NOT_PUBLISHED")
    assert_error(await client.get("/api/v1/units/DG-CA/scores?period=2026-H2", headers=insp), 403, "NOT_PUBLISHED")
    assert_error(await client.get("/api/v1/leaderboard?period=2026-H2&basis=provisional", headers=insp), 403, "FORBIDDEN")
    assert_error(await client.get("/api/v1/periods/2026-H2/staff-totals", headers=insp), 403, "FORBIDDEN")
    assert_error(await client.get("/api/v1/leaderboard?period=2026-H2"), 401)


async def test_create_deduction_checks_what_the_rule_and_period_need(db, client, chief):
    await open_period(client, chief, catalog="dongguan_branch_2010")

    async def create(period="2026-H2", **fields):
        async with db() as session:
            data = DeductionCreate(**{"unit_code": "DG-HM", "indicator": "registration.file_quality.beyond_authority", **fields})
            row = await create_deduction(session, period, data, "test")
            await session.commit()
            return row

    row = await create(count=3, staff=["张伟"], finding_id=FINDING)
    assert (row.points, row.effect, row.status, row.finding_id) == (6, "deduct", "proposed", FINDING)
    assert (await create(indicator="bonus.big_case")).points == 3  # DG-HM is tier 1: 3 points a big case
    assert (await create(indicator="veto.major_accident")).effect == "veto"
    with pytest.raises(InputError, match="measurements"):
        await create(indicator="registration.window_service.mystery_shopping")
    with pytest.raises(InputError, match="unknown indicator"):
        await create(indicator="nope.nothing")
    with pytest.raises(InputError, match="not one of"):
        await create(indicator="bonus.commendation", level="galaxy", achievement="x")
    with pytest.raises(ValidationFailed):
        await create(unit_code="DG-HM-001")
    with pytest.raises(NotFound):
        await create(period="2030")
    async with db() as session:
        await session.execute(update(Period).values(status="locked"))
        await session.commit()
    with pytest.raises(Conflict):
        await create()


async def test_data_the_rules_cannot_take_any_more_is_a_clear_422(db, client, chief):
    await open_period(client, chief, catalog="dongguan_branch_2010")
    await insert_deduction(db, "2026-H2", "DG-HM", "bonus.big_case")
    async with db() as session:
        await session.execute(update(UnitRow).where(UnitRow.code == "DG-HM").values(tier=None))
        await session.commit()
    r = await client.get("/api/v1/leaderboard?period=2026-H2&basis=provisional", headers=chief)
    assert assert_error(r, 422, "SCORING_INPUT_INVALID")["details"]["ref"] == "DG-HM"
