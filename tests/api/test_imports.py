"""Bulk import over HTTP: CSV and XLSX, every bad row reported, all or nothing."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date

import openpyxl
import pytest

from api import tables
from tests.support.api import add_user, assert_error, login, seed_registry

UNITS_CSV = (
    "code,name,kind,district,grid,lat,lon,risk_class,credit,tier,parent_code\n"
    "DG-SL,石龙分局,office,水乡片区,G10,23.1,113.87,III,A,4,DG\n"
    "DG-SL-001,东莞市石龙镇某某餐饮店,entity,水乡片区,G10,23.11,113.88,I,B,,DG-SL\n"
)


@pytest.fixture
async def chief(db, client):
    await seed_registry(db)
    await add_user(db, "chief", "chief")
    return await login(client, "chief")


async def count(client, headers, path="/api/v1/units"):
    return (await client.get(path, headers=headers)).json()["total"]


async def test_csv_import_creates_then_updates(client, chief):
    r = await client.post("/api/v1/imports/units", content=UNITS_CSV.encode(), headers={**chief, "Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.json() == {"kind": "units", "rows": 2, "created": 2, "updated": 0, "unchanged": 0}
    entity = (await client.get("/api/v1/units/DG-SL-001", headers=chief)).json()
    assert entity["parent_code"] == "DG-SL" and entity["tier"] is None and entity["lat"] == 23.11
    entity_stamp = entity["updated_at"]
    again = await client.post("/api/v1/imports/units", content=UNITS_CSV.replace("石龙分局", "石龙分局（新）").encode(), headers=chief)
    # Only the office's name differs: the entity, repeated as it is, is left untouched.
    assert again.json() == {"kind": "units", "rows": 2, "created": 0, "updated": 1, "unchanged": 1}
    assert (await client.get("/api/v1/units/DG-SL", headers=chief)).json()["name"] == "石龙分局（新）"
    assert (await client.get("/api/v1/units/DG-SL-001", headers=chief)).json()["updated_at"] == entity_stamp
    same = await client.post("/api/v1/imports/units", content=UNITS_CSV.replace("石龙分局", "石龙分局（新）").encode(), headers=chief)
    assert same.json() == {"kind": "units", "rows": 2, "created": 0, "updated": 0, "unchanged": 2}


async def test_children_may_come_before_parents_in_the_file(client, chief):
    csv = "code,name,kind,parent_code\nC-1,子,entity,P-1\nP-1,父,office,DG\n"
    r = await client.post("/api/v1/imports/units", content=csv.encode(), headers=chief)
    assert r.status_code == 200, r.text
    assert (await client.get("/api/v1/units/C-1", headers=chief)).json()["parent_code"] == "P-1"


async def test_imported_codes_are_one_spelling(client, chief):
    # A code typed decomposed (NFD) is the composed one the API keeps: not a second unit that
    # would make every later draw refuse the registry. A tab in a district is refused.
    csv = "code,name,kind,parent_code,district\nNFC-cafe\u0301,咖啡店,entity,DG,虎门\n"
    assert (await client.post("/api/v1/imports/units", content=csv.encode(), headers=chief)).status_code == 200
    assert (await client.get("/api/v1/units/NFC-caf\u00e9", headers=chief)).status_code == 200
    again = await client.post("/api/v1/units", json={"code": "NFC-caf\u00e9", "name": "x", "kind": "entity"}, headers=chief)
    assert_error(again, 409, "ALREADY_EXISTS")
    tab = "code,name,kind,parent_code,district\nT-1,店,entity,DG,\"a\tb\"\n"
    refused = await client.post("/api/v1/imports/units", content=tab.encode(), headers=chief)
    assert refused.status_code == 422 and refused.json()["details"][0]["column"] == "district", refused.text


async def test_gb18030_csv_from_chinese_excel(client, chief):
    csv = "code,unit_code,type,closed_on,handlers\n虎门市监罚〔2026〕9号,DG-HM,enforcement,2026-01-05,张伟;李娜\n"
    r = await client.post("/api/v1/imports/case-files", content=csv.encode("gb18030"), headers=chief)
    assert r.status_code == 200, r.text
    got = (await client.get("/api/v1/case-files?q=2026", headers=chief)).json()["items"][0]
    assert got["code"] == "虎门市监罚〔2026〕9号" and got["handlers"] == ["张伟", "李娜"]


async def test_xlsx_import_with_numbers_and_dates(client, chief):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["username", "name", "home_unit", "home_grid", "qualifications", "active"])
    sheet.append(["insp03", "黄磊", "DG-HM", "G01", "field_visit、file_review", "是"])
    sheet.append(["insp04", "周敏", "DG-CA", 2, "file_review", "否"])
    buffer = io.BytesIO()
    book.save(buffer)
    r = await client.post("/api/v1/imports/inspectors", content=buffer.getvalue(), headers=chief)
    assert r.status_code == 200, r.text
    i3 = (await client.get("/api/v1/inspectors/insp03", headers=chief)).json()
    i4 = (await client.get("/api/v1/inspectors/insp04", headers=chief)).json()
    assert i3["qualifications"] == ["field_visit", "file_review"] and i3["active"] is True
    assert i4["home_grid"] == "2" and i4["active"] is False  # 2, not "2.0"
    book = openpyxl.Workbook()
    book.active.append(["code", "unit_code", "type", "closed_on"])
    book.active.append(["F-X", "DG-HM", "other", date(2025, 7, 1)])
    buffer = io.BytesIO()
    book.save(buffer)
    r = await client.post("/api/v1/imports/case-files", content=buffer.getvalue(), headers=chief)
    assert r.status_code == 200, r.text
    assert (await client.get("/api/v1/case-files/F-X", headers=chief)).json()["closed_on"] == "2025-07-01"


async def test_every_bad_row_is_reported_and_nothing_is_written(client, chief):
    before = await count(client, chief)
    csv = (
        "code,name,kind,lat,risk_class,tier,parent_code\n"
        "OK-1,好,office,22.5,II,3,DG\n"
        "BAD-1,,office,22.5,II,3,DG\n"          # row 3: empty name
        "BAD-2,坏,shop,95,IV,9,NOPE\n"          # row 4: kind, lat, risk_class, tier, parent
        "OK-1,重复,office,,,,\n"                 # row 5: duplicate code
    )
    r = await client.post("/api/v1/imports/units", content=csv.encode(), headers=chief)
    body = assert_error(r, 422, "IMPORT_INVALID")
    found = {(e["row"], e["column"]) for e in body["details"]}
    assert found == {(3, "name"), (4, "kind"), (4, "lat"), (4, "risk_class"), (4, "tier"), (4, "parent_code"), (5, "code")}
    assert all(e["message"] for e in body["details"])
    assert "7 problem(s)" in body["message"]
    assert await count(client, chief) == before  # the good row was not kept either


async def test_header_problems(client, chief):
    r = await client.post("/api/v1/imports/units", content=b"code,name,colour\nA,B,red\n", headers=chief)
    details = assert_error(r, 422, "IMPORT_INVALID")["details"]
    assert {(e["row"], e["column"]) for e in details} == {(1, "colour"), (1, "kind")}
    for junk in [b"", b"\x00\x01\x02binary", b"PK\x03\x04not really a zip", b"code,name,kind\n"]:
        details = assert_error(await client.post("/api/v1/imports/units", content=junk, headers=chief), 422, "IMPORT_INVALID")["details"]
        assert details[0]["message"]


async def test_import_needs_an_editor(db, client, chief):
    await add_user(db, "insp", "inspector")
    insp = await login(client, "insp")
    assert_error(await client.post("/api/v1/imports/units", content=UNITS_CSV.encode(), headers=insp), 403)


def _stale_dimension(book: openpyxl.Workbook, ref: str) -> bytes:
    """The workbook's bytes with the sheet's <dimension> rewritten, as streaming writers leave it."""
    saved = io.BytesIO()
    book.save(saved)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(saved.getvalue())) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), data)
            target.writestr(item, data)
    return out.getvalue()


async def test_an_xlsx_with_a_stale_dimension_is_read_whole(client, chief):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["code", "name", "kind", "parent_code"])
    for n in range(1, 6):
        sheet.append([f"DIM-{n}", f"维度{n}所", "office", "DG"])
    r = await client.post("/api/v1/imports/units", content=_stale_dimension(book, "A1:C3"), headers=chief)
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == 5  # not 2 rows of 3 columns, as the tag claims
    unit = (await client.get("/api/v1/units/DIM-5", headers=chief)).json()
    assert (unit["name"], unit["parent_code"]) == ("维度5所", "DG")


async def test_a_table_past_the_row_limit_is_refused_whole(client, chief, monkeypatch):
    monkeypatch.setattr(tables, "MAX_ROWS", 3)
    rows = "".join(f"R-{n},第{n}所,office,DG\n" for n in range(4))
    r = await client.post("/api/v1/imports/units", content=f"code,name,kind,parent_code\n{rows}".encode(), headers=chief)
    body = assert_error(r, 422, "IMPORT_INVALID")
    assert "more than 3 rows" in str(body["details"])
    assert (await client.get("/api/v1/units/R-0", headers=chief)).status_code == 404


async def test_what_a_chinese_excel_writes_is_read(client, chief):
    # CSV saved by a Chinese Excel: dates as 2026/3/5, a trailing empty column; typed by hand:
    # full-width digits and 年月日.
    units = "code,name,kind,lat,tier,parent_code,\nDG-QX,清溪分局,office,２２．９,４,DG,\n"
    r = await client.post("/api/v1/imports/units", content=units.encode("gb18030"), headers=chief)
    assert r.status_code == 200, r.text
    office = (await client.get("/api/v1/units/DG-QX", headers=chief)).json()
    assert (office["lat"], office["tier"]) == (22.9, 4)
    files = "code,unit_code,type,closed_on\nF-1,DG-QX,enforcement,2026/3/5\nF-2,DG-QX,complaint,2026年11月20日\n"
    r = await client.post("/api/v1/imports/case-files", content=files.encode(), headers=chief)
    assert r.status_code == 200, r.text
    closed = {c["code"]: c["closed_on"] for c in (await client.get("/api/v1/case-files?unit_code=DG-QX", headers=chief)).json()["items"]}
    assert closed == {"F-1": "2026-03-05", "F-2": "2026-11-20"}
    # A date that is none is still refused, naming its cell.
    bad = "code,unit_code,type,closed_on\nF-3,DG-QX,enforcement,2026/13/45\n"
    body = assert_error(await client.post("/api/v1/imports/case-files", content=bad.encode(), headers=chief), 422)
    assert [(e["row"], e["column"]) for e in body["details"]] == [(2, "closed_on")]


async def test_a_multipart_form_is_told_to_send_the_file_itself(client, chief):
    r = await client.post("/api/v1/imports/units", files={"file": ("units.csv", UNITS_CSV.encode(), "text/csv")},
                          headers=chief)
    body = assert_error(r, 422, "IMPORT_INVALID")
    assert [(e["row"], e["column"]) for e in body["details"]] == [(1, None)]
    assert "--data-binary" in body["details"][0]["message"]


async def test_formulas_with_no_saved_value_are_refused_not_read_as_empty(client, chief):
    book = openpyxl.Workbook()  # written by a program: openpyxl saves formulas without results
    sheet = book.active
    sheet.append(["code", "name", "kind", "district"])
    sheet.append(["FX-1", "公式所", "office", '=B2&"片区"'])
    saved = io.BytesIO()
    book.save(saved)
    body = assert_error(await client.post("/api/v1/imports/units", content=saved.getvalue(), headers=chief), 422, "IMPORT_INVALID")
    assert "D2" in body["details"][0]["message"]
    assert (await client.get("/api/v1/units/FX-1", headers=chief)).status_code == 404


def test_xlsx_numbers_are_read_as_excel_shows_them():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["code", "value", "plain"])
    sheet.append([123, 0.885, 0.885])
    sheet["A2"].number_format = "000000"  # typed as 000123: Excel keeps the number, shows the zeros
    sheet["B2"].number_format = "0.0%"  # shown as 88.5%: a rate in percent points
    saved = io.BytesIO()
    book.save(saved)
    header, body = tables.read_table(saved.getvalue())
    assert header == ["code", "value", "plain"] and body == [(2, ["000123", "88.5", "0.885"])]


def _merged_register() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["code", "name", "kind", "district", "parent_code"])
    sheet.append(["MG-1", "甲餐饮店", "entity", "水乡片区", "DG-SL"])
    sheet.append(["MG-2", "乙超市", "entity", None, None])
    sheet.append(["MG-3", "丙药店", "entity", None, None])
    sheet.append(["MG-4", "丁食品厂", "entity", "虎门片区", "DG-SL"])
    sheet.merge_cells("D2:D4")  # one district and one office written once over three entities
    sheet.merge_cells("E2:E4")
    saved = io.BytesIO()
    book.save(saved)
    # Ranges over whole columns, as Excel writes them (openpyxl would write every cell): they add
    # no row and no column, and cost nothing.
    source, out = zipfile.ZipFile(saved), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'(<mergeCell ref="D2:D4" ?/>)', rb'\1<mergeCell ref="F1:F1048576"/><mergeCell ref="G1:XFD1048576"/>', data)
                assert b"F1:F1048576" in data
            target.writestr(item, data)
    return out.getvalue()


def test_merged_cells_are_read_as_excel_shows_them():
    header, body = tables.read_table(_merged_register())
    assert header == ["code", "name", "kind", "district", "parent_code"]
    assert [(n, r[:5]) for n, r in body] == [
        (2, ["MG-1", "甲餐饮店", "entity", "水乡片区", "DG-SL"]),
        (3, ["MG-2", "乙超市", "entity", "水乡片区", "DG-SL"]),
        (4, ["MG-3", "丙药店", "entity", "水乡片区", "DG-SL"]),
        (5, ["MG-4", "丁食品厂", "entity", "虎门片区", "DG-SL"]),
    ]
    assert all(c is None for _, r in body for c in r[5:])


async def test_an_import_with_merged_cells_gives_each_row_its_value(client, chief):
    csv = "code,name,kind,parent_code\nDG-SL,石龙分局,office,DG\n"
    assert (await client.post("/api/v1/imports/units", content=csv.encode(), headers=chief)).status_code == 200
    r = await client.post("/api/v1/imports/units", content=_merged_register(), headers=chief)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 4
    for code in ("MG-2", "MG-3"):
        unit = (await client.get(f"/api/v1/units/{code}", headers=chief)).json()
        assert unit["parent_code"] == "DG-SL" and unit["district"] == "水乡片区"


def test_a_merge_across_columns_fills_nothing_sideways():
    # A header cell over two columns (and a value over the same two) reads as one named column
    # and one blank column, which is ignored: not a column named twice.
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["code", "name", None, "kind"])
    sheet.append(["X-1", "某某餐饮店", None, "entity"])
    sheet.merge_cells("B1:C1")
    sheet.merge_cells("B2:C2")
    saved = io.BytesIO()
    book.save(saved)
    header, body = tables.read_table(saved.getvalue())
    assert header == ["code", "name", "", "kind"] and body == [(2, ["X-1", "某某餐饮店", None, "entity"])]
