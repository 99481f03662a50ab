"""Periods and measurements over HTTP: pinned versions, checks, upsert with source, imports
all or nothing with a per-row report, visibility and permissions."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
import yaml
from sqlalchemy import select, update

from api import measurements
from api.errors import ValidationFailed
from api.models_review import AuditEvent
from api.models_scoring import Period
from api.schemas.scoring import MeasurementUpsert
from tests.support.api import add_user, assert_error, login, seed_registry
from tests.support.scoring import load_shipped, open_period, shipped_bytes

DONGGUAN = "dongguan_branch_2010"
STARS = "mystery_shopping_stars"


@pytest.fixture
async def chief(db, client):
    await seed_registry(db)
    await add_user(db, "chief", "chief")
    h = await login(client, "chief")
    await load_shipped(client, h, "office_deductions.catalog", "dongguan_branch_2010.catalog", "branch_annual.scheme")
    return h


async def test_period_pins_the_versions_in_force_when_it_opens(client, chief):
    changed = yaml.safe_load(shipped_bytes("office_deductions.catalog"))
    changed["version"] = 2
    assert (await client.post("/api/v1/catalogs", content=json.dumps(changed).encode(), headers=chief)).status_code == 201
    latest = await open_period(client, chief, "2026-H2")
    assert (latest["catalog_code"], latest["catalog_version"], latest["scheme_version"]) == ("office_deductions", 2, 1)
    assert (latest["status"], latest["unit_kind"], latest["parent_code"], latest["opened_by"]) == ("open", "office", "DG", "chief")
    pinned = await open_period(client, chief, "2026-H1", catalog_version=1)
    assert pinned["catalog_version"] == 1
    changed["version"] = 3
    await client.post("/api/v1/catalogs", content=json.dumps(changed).encode(), headers=chief)
    assert (await client.get("/api/v1/periods/2026-H2", headers=chief)).json()["catalog_version"] == 2
    page = (await client.get("/api/v1/periods?status=open", headers=chief)).json()
    assert [p["code"] for p in page["items"]] == ["2026-H1", "2026-H2"] and page["total"] == 2
    assert (await client.get("/api/v1/periods?status=locked", headers=chief)).json()["total"] == 0
    assert_error(await client.get("/api/v1/periods/2030", headers=chief), 404)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"catalog_code": "nope"}, "$.catalog_code"),
        ({"catalog_version": 9}, "$.catalog_version"),
        ({"scheme_code": "branch_annual", "scheme_version": 2}, "$.scheme_version"),
        ({"scheme_code": "individual_annual"}, "$.scheme_code"),
        ({"ends_on": "2026-06-30"}, "$.ends_on"),
        ({"parent_code": "NOPE"}, "$.parent_code"),
        ({"unit_kind": "shop"}, "$.unit_kind"),
        ({"catalog_version": 0}, "$.catalog_version"),
        ({"code": "a/b"}, "$.code"),
    ],
)
async def test_bad_periods_are_refused(client, chief, change, path):
    await load_shipped(client, chief, "individual_annual.scheme")
    body = {"code": "P", "name": "期", "starts_on": "2026-07-01", "ends_on": "2026-12-31",
            "catalog_code": "office_deductions", "scheme_code": "branch_annual", **change}
    r = await client.post("/api/v1/periods", json=body, headers=chief)
    assert assert_error(r, 422, "VALIDATION_ERROR")["details"][0]["path"] == path
    assert (await client.get("/api/v1/periods", headers=chief)).json()["total"] == 0


async def test_duplicate_period_and_permissions(db, client, chief):
    await open_period(client, chief, "2026-H2")
    body = {"code": "2026-H2", "name": "x", "starts_on": "2026-07-01", "ends_on": "2026-12-31",
            "catalog_code": "office_deductions", "scheme_code": "branch_annual"}
    assert_error(await client.post("/api/v1/periods", json=body, headers=chief), 409, "ALREADY_EXISTS")
    await add_user(db, "insp", "inspector")
    await add_user(db, "hm", "unit", "DG-HM")
    for name in ("insp", "hm"):
        h = await login(client, name)
        assert_error(await client.post("/api/v1/periods", json={**body, "code": "X"}, headers=h), 403, "FORBIDDEN")
        assert (await client.get("/api/v1/periods/2026-H2", headers=h)).status_code == 200


async def test_measurement_upsert_keeps_each_values_source(db, client, chief):
    await open_period(client, chief, catalog=DONGGUAN)
    first = await client.put("/api/v1/periods/2026-H2/measurements",
                             json={"unit_code": "DG-HM", "metric": STARS, "value": 4.5, "source": "暗访系统"}, headers=chief)
    assert first.status_code == 200, first.text
    assert {k: first.json()[k] for k in ("unit_code", "metric", "value", "elapsed", "source", "recorded_by")} == {
        "unit_code": "DG-HM", "metric": STARS, "value": 4.5, "elapsed": 1.0, "source": "暗访系统", "recorded_by": "chief"}
    again = await client.put("/api/v1/periods/2026-H2/measurements",
                             json={"unit_code": "DG-HM", "metric": STARS, "value": 3, "source": "第三方测评", "elapsed": 0.5}, headers=chief)
    assert (again.json()["value"], again.json()["source"], again.json()["elapsed"]) == (3, "第三方测评", 0.5)
    listed = (await client.get("/api/v1/periods/2026-H2/measurements", headers=chief)).json()
    assert listed["total"] == 1 and listed["items"][0]["source"] == "第三方测评"
    bad = [
        ({"unit_code": "DG-HM", "metric": "stars", "value": 1, "source": "s"}, "$.metric"),
        ({"unit_code": "DG-HM-001", "metric": STARS, "value": 1, "source": "s"}, "$.unit_code"),  # an entity: not assessed
        ({"unit_code": "NOPE", "metric": STARS, "value": 1, "source": "s"}, "$.unit_code"),
        ({"unit_code": "DG-HM", "metric": STARS, "value": 1}, "$.source"),  # missing
        ({"unit_code": "DG-HM", "metric": STARS, "value": 1, "source": ""}, "$.source"),
        ({"unit_code": "DG-HM", "metric": STARS, "value": 1e13, "source": "s"}, "$.value"),
        ({"unit_code": "DG-HM", "metric": STARS, "value": 1, "source": "s", "elapsed": 0}, "$.elapsed"),
    ]
    for body, path in bad:
        r = await client.put("/api/v1/periods/2026-H2/measurements", json=body, headers=chief)
        assert assert_error(r, 422)["details"][0]["path"] == path, body
    assert_error(await client.put("/api/v1/periods/nope/measurements", json=bad[0][0], headers=chief), 404)
    async with db() as session:
        await session.execute(update(Period).values(status="locked"))
        await session.commit()
    locked = await client.put("/api/v1/periods/2026-H2/measurements", json={**bad[0][0], "metric": STARS}, headers=chief)
    assert_error(locked, 409, "PERIOD_LOCKED")


async def test_measurements_upserted_together_are_checked_together(db, client, chief):
    await open_period(client, chief, catalog=DONGGUAN)

    def item(unit: str, metric: str, value: float) -> MeasurementUpsert:
        return MeasurementUpsert(unit_code=unit, metric=metric, value=value, source="业务系统")

    period_query = select(Period).where(Period.code == "2026-H2")
    async with db() as session:
        period = (await session.execute(period_query)).scalar_one()
        with pytest.raises(ValidationFailed) as refused:
            await measurements.upsert_many(session, period, [item("DG-HM", STARS, 4.5), item("NOPE", STARS, 1),
                                                             item("DG-CA", "stars", 1)], "chief")
        assert [d["path"] for d in refused.value.details] == ["$[1].unit_code", "$[2].metric"]
    async with db() as session:
        period = (await session.execute(period_query)).scalar_one()
        await measurements.upsert_many(session, period, [item("DG-HM", STARS, 4.5), item("DG-CA", STARS, 3.5)], "chief")
        await session.commit()
        await measurements.upsert_many(session, period, [item("DG-HM", STARS, 4.5), item("DG-CA", STARS, 3.0),
                                                         item("DG-CA", STARS, 4.0)], "chief")
        await session.commit()
    listed = (await client.get("/api/v1/periods/2026-H2/measurements", headers=chief)).json()
    assert sorted((m["unit_code"], m["value"]) for m in listed["items"]) == [("DG-CA", 4.0), ("DG-HM", 4.5)]
    async with db() as session:
        events = (await session.execute(select(AuditEvent.action, AuditEvent.object_id)
                                        .where(AuditEvent.object_type == "measurement").order_by(AuditEvent.id))).all()
    # The unchanged value sent again is no event; each change is one, in order.
    assert [tuple(e) for e in events] == [("measurement.created", f"2026-H2:DG-HM:{STARS}"),
                                          ("measurement.created", f"2026-H2:DG-CA:{STARS}"),
                                          ("measurement.updated", f"2026-H2:DG-CA:{STARS}"),
                                          ("measurement.updated", f"2026-H2:DG-CA:{STARS}")]


CSV = (
    "unit_code,metric,value,source,elapsed\n"
    "DG-HM,mystery_shopping_stars,4.5,暗访系统,\n"
    "DG-HM,annual_inspection_rate,80,年检系统,0.75\n"
    "DG-CA,complaint_handling_rate,97.5,12315平台,\n"
)


async def test_measurement_import_creates_updates_and_reports(client, chief):
    await open_period(client, chief, catalog=DONGGUAN)
    r = await client.post("/api/v1/periods/2026-H2/measurements/import", content=CSV.encode(), headers=chief)
    assert r.status_code == 200, r.text
    assert r.json() == {"period_code": "2026-H2", "rows": 3, "created": 3, "updated": 0}
    rate = (await client.get("/api/v1/periods/2026-H2/measurements?metric=annual_inspection_rate", headers=chief)).json()["items"]
    assert [(m["unit_code"], m["value"], m["elapsed"], m["source"]) for m in rate] == [("DG-HM", 80, 0.75, "年检系统")]
    book = openpyxl.Workbook()
    book.active.append(["unit_code", "metric", "value", "source"])
    book.active.append(["DG-HM", STARS, 5, "暗访系统(复核)"])
    buffer = io.BytesIO()
    book.save(buffer)
    r = await client.post("/api/v1/periods/2026-H2/measurements/import", content=buffer.getvalue(), headers=chief)
    assert r.json() == {"period_code": "2026-H2", "rows": 1, "created": 0, "updated": 1}
    stars = (await client.get(f"/api/v1/periods/2026-H2/measurements?metric={STARS}", headers=chief)).json()["items"]
    assert [(m["value"], m["source"]) for m in stars] == [(5, "暗访系统(复核)")]


async def test_a_bad_measurement_file_changes_nothing_and_lists_every_problem(client, chief):
    await open_period(client, chief, catalog=DONGGUAN)
    bad = (
        "unit_code,metric,value,source\n"
        "DG-HM,mystery_shopping_stars,4.5,暗访系统\n"
        "DG-CA,stars,4,暗访系统\n"
        "DG-XX,complaint_handling_rate,ninety,\n"
        "DG-HM,mystery_shopping_stars,4,暗访系统\n"
    )
    r = await client.post("/api/v1/periods/2026-H2/measurements/import", content=bad.encode("gb18030"), headers=chief)
    problems = {(e["row"], e["column"]) for e in assert_error(r, 422, "IMPORT_INVALID")["details"]}
    assert problems == {(3, "metric"), (4, "unit_code"), (4, "value"), (4, "source"), (5, "metric")}
    assert (await client.get("/api/v1/periods/2026-H2/measurements", headers=chief)).json()["total"] == 0
    header = await client.post("/api/v1/periods/2026-H2/measurements/import", content=b"unit,metric\nDG-HM,x\n", headers=chief)
    assert {(e["row"], e["column"]) for e in assert_error(header, 422)["details"]} >= {(1, "unit"), (1, "unit_code"), (1, "value")}
    assert_error(await client.post("/api/v1/periods/2026-H2/measurements/import", content=b"", headers=chief), 422, "IMPORT_INVALID")


async def test_who_sees_and_writes_measurements(db, client, chief):
    await open_period(client, chief, catalog=DONGGUAN)
    await client.post("/api/v1/periods/2026-H2/measurements/import", content=CSV.encode(), headers=chief)
    await add_user(db, "insp", "inspector")
    await add_user(db, "hm", "unit", "DG-HM")
    await add_user(db, "admin", "admin")
    unit = await login(client, "hm")
    own = (await client.get("/api/v1/periods/2026-H2/measurements", headers=unit)).json()
    assert own["total"] == 2 and {m["unit_code"] for m in own["items"]} == {"DG-HM"}
    assert (await client.get("/api/v1/periods/2026-H2/measurements?unit_code=DG-CA", headers=unit)).json()["total"] == 0
    insp = await login(client, "insp")
    assert (await client.get("/api/v1/periods/2026-H2/measurements", headers=insp)).json()["total"] == 3
    body = {"unit_code": "DG-HM", "metric": STARS, "value": 5, "source": "s"}
    for h in (unit, insp):
        assert_error(await client.put("/api/v1/periods/2026-H2/measurements", json=body, headers=h), 403)
        assert_error(await client.post("/api/v1/periods/2026-H2/measurements/import", content=CSV.encode(), headers=h), 403)
    assert (await client.put("/api/v1/periods/2026-H2/measurements", json=body, headers=await login(client, "admin"))).status_code == 200
