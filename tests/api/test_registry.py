"""Registry endpoints: create, read, update, list with filters and pages, reference rules."""

from __future__ import annotations

from urllib.parse import quote

from tests.support.api import add_user, assert_error, login, seed_registry


async def chief_headers(db, client):
    await add_user(db, "chief", "chief")
    return await login(client, "chief")


async def test_unit_create_read_update_with_chinese_text(db, client):
    await seed_registry(db)
    h = await chief_headers(db, client)
    body = {"code": "DG-HM-002", "name": "东莞市虎门镇某某药房", "kind": "entity", "grid": "G01", "lat": 22.821,
            "lon": 113.671, "risk_class": "I", "credit": "B", "parent_code": "DG-HM"}
    created = await client.post("/api/v1/units", json=body, headers=h)
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "东莞市虎门镇某某药房"
    got = (await client.get("/api/v1/units/DG-HM-002", headers=h)).json()
    assert {k: got[k] for k in body} == body
    patched = await client.patch("/api/v1/units/DG-HM-002", json={"credit": "D", "district": None}, headers=h)
    assert patched.status_code == 200
    assert patched.json()["credit"] == "D" and patched.json()["name"] == body["name"]
    assert_error(await client.post("/api/v1/units", json=body, headers=h), 409, "ALREADY_EXISTS")


async def test_references_and_cycles_are_refused(db, client):
    await seed_registry(db)
    h = await chief_headers(db, client)
    bad_parent = await client.post("/api/v1/units", json={"code": "X", "name": "x", "kind": "office", "parent_code": "NOPE"}, headers=h)
    assert assert_error(bad_parent, 422, "VALIDATION_ERROR")["details"] == [{"path": "$.parent_code", "message": "no unit with code 'NOPE'"}]
    cycle = await client.patch("/api/v1/units/DG", json={"parent_code": "DG-HM-001"}, headers=h)
    assert assert_error(cycle, 422)["details"][0]["path"] == "$.parent_code"
    own = await client.patch("/api/v1/units/DG-HM", json={"parent_code": "DG-HM"}, headers=h)
    assert_error(own, 422)
    file_for_nobody = await client.post("/api/v1/case-files", json={"code": "F1", "unit_code": "NOPE", "type": "other"}, headers=h)
    assert_error(file_for_nobody, 422)
    assert (await client.get("/api/v1/case-files?unit_code=NOPE", headers=h)).json()["total"] == 0


async def test_unit_list_filters_and_pages(db, client):
    await seed_registry(db)
    h = await chief_headers(db, client)
    everything = (await client.get("/api/v1/units", headers=h)).json()
    assert everything["total"] == 4 and [u["code"] for u in everything["items"]] == ["DG", "DG-CA", "DG-HM", "DG-HM-001"]
    page = (await client.get("/api/v1/units?limit=2&offset=1", headers=h)).json()
    assert [u["code"] for u in page["items"]] == ["DG-CA", "DG-HM"] and page["total"] == 4
    assert [u["code"] for u in (await client.get("/api/v1/units?kind=entity", headers=h)).json()["items"]] == ["DG-HM-001"]
    assert [u["code"] for u in (await client.get("/api/v1/units?risk_class=I", headers=h)).json()["items"]] == ["DG-HM-001"]
    assert (await client.get("/api/v1/units?parent_code=DG", headers=h)).json()["total"] == 2
    assert (await client.get(f"/api/v1/units?q={quote('虎门')}", headers=h)).json()["total"] == 2
    assert (await client.get("/api/v1/units?q=%25", headers=h)).json()["total"] == 0  # LIKE wildcards escaped
    assert_error(await client.get("/api/v1/units?limit=0", headers=h), 422)
    assert_error(await client.get("/api/v1/units?limit=501", headers=h), 422)
    assert_error(await client.get("/api/v1/units?risk_class=IV", headers=h), 422)


async def test_case_files_with_chinese_codes_in_paths(db, client):
    await seed_registry(db)
    h = await chief_headers(db, client)
    code = "虎门市监罚〔2025〕1号"
    got = await client.get(f"/api/v1/case-files/{quote(code)}", headers=h)
    assert got.status_code == 200 and got.json()["handlers"] == ["张伟", "李娜"]
    listed = (await client.get("/api/v1/case-files?unit_code=DG-HM&type=enforcement", headers=h)).json()
    assert [c["code"] for c in listed["items"]] == [code]
    dated = (await client.get("/api/v1/case-files?closed_from=2025-05-01&closed_to=2025-05-31", headers=h)).json()
    assert [c["code"] for c in dated["items"]] == ["虎门市监登〔2025〕2号"]
    moved = await client.patch(f"/api/v1/case-files/{quote(code)}", json={"unit_code": "DG-CA", "handlers": []}, headers=h)
    assert moved.status_code == 200 and moved.json()["unit_code"] == "DG-CA"
    assert_error(await client.post("/api/v1/case-files", json={"code": "a/b", "unit_code": "DG-HM", "type": "other"}, headers=h), 422)


async def test_inspectors_filters(db, client):
    await seed_registry(db)
    h = await chief_headers(db, client)
    both = (await client.get("/api/v1/inspectors?qualification=field_visit", headers=h)).json()
    assert [i["username"] for i in both["items"]] == ["insp01"]
    files = (await client.get("/api/v1/inspectors?qualification=file_review", headers=h)).json()
    assert [i["username"] for i in files["items"]] == ["insp01", "insp02"]
    off = await client.patch("/api/v1/inspectors/insp02", json={"active": False}, headers=h)
    assert off.status_code == 200
    assert [i["username"] for i in (await client.get("/api/v1/inspectors?active=true", headers=h)).json()["items"]] == ["insp01"]
    dup = await client.post("/api/v1/inspectors", json={"username": "insp01", "name": "x"}, headers=h)
    assert_error(dup, 409)
    bad = await client.post("/api/v1/inspectors", json={"username": "new", "name": "x", "qualifications": ["driving"]}, headers=h)
    assert assert_error(bad, 422)["details"][0]["path"].startswith("$.qualifications")


async def test_unit_account_sees_only_its_own_unit(db, client):
    await seed_registry(db)
    await add_user(db, "hm", "unit", unit_code="DG-HM")
    h = await login(client, "hm")
    listed = (await client.get("/api/v1/units", headers=h)).json()
    assert [u["code"] for u in listed["items"]] == ["DG-HM"] and listed["total"] == 1
    files = (await client.get("/api/v1/case-files", headers=h)).json()
    assert {c["unit_code"] for c in files["items"]} == {"DG-HM"} and files["total"] == 2
    assert (await client.get("/api/v1/case-files?unit_code=DG-CA", headers=h)).json()["total"] == 0
    assert_error(await client.patch("/api/v1/units/DG-HM", json={"credit": "A"}, headers=h), 403)


async def test_what_a_draw_reads_of_a_unit_is_one_line_in_one_spelling(db, client):
    """A value the sampler would refuse (a control character) or a second spelling of a code
    (NFD beside NFC) would make every later draw refuse the whole registry: refused here."""
    await seed_registry(db)
    h = await chief_headers(db, client)
    base = {"code": "DG-HM-009", "name": "虎门测试店", "kind": "entity", "parent_code": "DG-HM"}
    for field, value in (("district", "a\tb"), ("grid", "x\u0085y"), ("code", "DG\u0085HM")):
        refused = assert_error(await client.post("/api/v1/units", json={**base, field: value}, headers=h), 422)
        assert refused["details"][0]["path"] == f"$.{field}", refused
    assert_error(await client.patch("/api/v1/units/DG-HM-001", json={"district": "虎门\n镇"}, headers=h), 422)
    composed, decomposed = "NFC-caf\u00e9", "NFC-cafe\u0301"
    assert (await client.post("/api/v1/units", json={**base, "code": composed}, headers=h)).status_code == 201
    assert_error(await client.post("/api/v1/units", json={**base, "code": decomposed}, headers=h), 409, "ALREADY_EXISTS")
    stored = (await client.post("/api/v1/units", json={**base, "code": "NFD-cafe\u0301"}, headers=h)).json()
    assert stored["code"] == "NFD-caf\u00e9"


async def test_labels_are_stored_without_surrounding_whitespace(db, client):
    await seed_registry(db)
    chief = await chief_headers(db, client)
    # As an import stores them: "G2 " would be a grid of its own, and the draw refuses such a
    # value outright, so one typed by hand stopped every later draw.
    made = await client.post("/api/v1/inspectors", json={"username": "insp09", "name": " 陈静 ", "home_grid": "G2 "},
                             headers=chief)
    assert made.status_code == 201, made.text
    assert (made.json()["name"], made.json()["home_grid"]) == ("陈静", "G2")
    unit = await client.post("/api/v1/units", json={"code": "WS-1", "name": "某店", "kind": "entity",
                                                    "grid": "\u3000G1", "district": "滨海片区 "}, headers=chief)
    assert (unit.json()["grid"], unit.json()["district"]) == ("G1", "滨海片区")
    patched = await client.patch("/api/v1/units/WS-1", json={"grid": " G3"}, headers=chief)
    assert patched.json()["grid"] == "G3"
    files = await client.post("/api/v1/case-files", json={"code": "WS-F", "unit_code": "WS-1", "type": "other",
                                                          "handlers": [" 张伟", "李娜"]}, headers=chief)
    assert files.json()["handlers"] == ["张伟", "李娜"]
    body = assert_error(await client.patch("/api/v1/units/WS-1", json={"grid": "   "}, headers=chief), 422, "VALIDATION_ERROR")
    assert [d["path"] for d in body["details"]] == ["$.grid"]
    assert (await client.get("/api/v1/units/WS-1", headers=chief)).json()["grid"] == "G3"
